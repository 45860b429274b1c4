#[derive(rocket_typed_session::Session, Default)]
#[session(namespace = "a", namespace = "b")]
struct Cart {
    #[session(rename = "x")]
    #[session(rename = "y")]
    items: Vec<u32>,
}

fn main() {}
