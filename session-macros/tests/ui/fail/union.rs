#[derive(rocket_typed_session::Session)]
union Bits {
    int: u32,
    float: f32,
}

fn main() {}
