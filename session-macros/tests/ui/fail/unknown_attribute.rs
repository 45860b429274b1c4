#[derive(rocket_typed_session::Session, Default)]
#[session(prefix = "cart")]
struct Cart {
    #[session(alias = "things")]
    items: Vec<u32>,
    #[session(flatten)]
    coupon: Option<String>,
}

fn main() {}
