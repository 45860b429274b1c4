#[derive(rocket_typed_session::Session, Default)]
#[session(namespace = "a.b", colour = "red")]
struct Cart {
    #[session(rename = "")]
    items: Vec<u32>,
    #[session(skip, default)]
    coupon: Option<String>,
    #[session(unknown)]
    total: u64,
}

fn main() {}
