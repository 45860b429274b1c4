#[derive(rocket_typed_session::Session, Default)]
#[session(namespace = "")]
struct Empty {
    a: u32,
}

#[derive(rocket_typed_session::Session, Default)]
#[session(namespace = "shop.cart")]
struct Dotted {
    a: u32,
}

#[derive(rocket_typed_session::Session, Default)]
#[session(namespace = "__internal")]
struct Reserved {
    a: u32,
}

#[derive(rocket_typed_session::Session, Default)]
#[session(namespace = cart)]
struct NotAString {
    a: u32,
}

fn main() {}
