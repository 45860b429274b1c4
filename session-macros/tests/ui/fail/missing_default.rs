#[derive(rocket_typed_session::Session)]
struct Cart {
    items: Vec<u32>,
}

fn main() {}
