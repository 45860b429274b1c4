#[derive(rocket_typed_session::Session, Default)]
struct Cart {
    items: Vec<u32>,
    #[session(rename = "items")]
    things: Vec<u32>,
}

fn main() {}
