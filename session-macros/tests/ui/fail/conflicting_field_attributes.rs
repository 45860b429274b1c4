fn zero() -> u32 {
    0
}

#[derive(rocket_typed_session::Session, Default)]
struct Cart {
    #[session(skip, rename = "x")]
    a: u32,
    #[session(skip, default = "zero")]
    b: u32,
    #[session(rename = "")]
    c: u32,
}

fn main() {}
