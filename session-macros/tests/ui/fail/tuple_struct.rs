#[derive(rocket_typed_session::Session, Default)]
struct Pair(u32, u32);

fn main() {}
