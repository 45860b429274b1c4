struct Opaque;

#[derive(rocket_typed_session::Session, Default)]
struct Cart {
    items: Vec<u32>,
    handle: Option<Opaque>,
}

fn main() {}
