#[derive(rocket_typed_session::Session, Default)]
struct Borrowed<'a> {
    name: &'a str,
}

fn main() {}
