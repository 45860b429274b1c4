#[derive(rocket_typed_session::Session, Default)]
struct Nothing;

fn main() {}
