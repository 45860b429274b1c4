#[derive(rocket_typed_session::Session)]
enum Role {
    Guest,
    Admin,
}

fn main() {}
