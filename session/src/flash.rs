//! [`Flash`]: one-time messages with categories, Flask's `flash()` and
//! `get_flashed_messages()`.

use serde::{Deserialize, Serialize};

use crate::codec;
use crate::data::{FieldSink, Fields, SessionData};

/// Messages kept for the next page a visitor sees, each with a category (`"info"`,
/// `"error"`, …), and taken once: Flask's `flash(message, category)` and
/// `get_flashed_messages(with_categories=True)`. Stored under the namespace `flash`.
///
/// A request that takes no message and pushes none writes nothing; taking the last message
/// removes the field from the store (an empty list is the default, which is not stored).
///
/// ```
/// use rocket::{get, post, response::Redirect};
/// use rocket_typed_session::{Flash, Session};
///
/// #[post("/save")]
/// fn save(mut flash: Session<Flash>) -> Redirect {
///     flash.push("info", "Saved");
///     Redirect::to("/")
/// }
///
/// #[get("/")]
/// fn index(mut flash: Session<Flash>) -> String {
///     let shown: Vec<String> =
///         flash.take().into_iter().map(|m| format!("[{}] {}", m.category, m.message)).collect();
///     shown.join("\n")
/// }
/// ```
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Flash {
    messages: Vec<FlashMessage>,
}

/// One message of a [`Flash`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlashMessage {
    /// What kind of message it is, for the page to style: `"info"`, `"error"`, ….
    pub category: String,
    /// The text.
    pub message: String,
}

impl Flash {
    /// Keeps `message` under `category` until a request takes it.
    pub fn push(&mut self, category: impl Into<String>, message: impl Into<String>) {
        self.messages.push(FlashMessage { category: category.into(), message: message.into() });
    }

    /// Every message, oldest first; they are gone once this request's response leaves.
    pub fn take(&mut self) -> Vec<FlashMessage> {
        std::mem::take(&mut self.messages)
    }

    /// The messages waiting, without taking them.
    pub fn messages(&self) -> &[FlashMessage] {
        &self.messages
    }
}

const MESSAGES: &str = "flash.messages";

impl SessionData for Flash {
    const NAMESPACE: &'static str = "flash";

    fn decode(fields: &Fields<'_>) -> Self {
        Flash { messages: fields.value(MESSAGES).unwrap_or_default() }
    }

    fn encode(&self, sink: &mut FieldSink<'_>) -> Result<(), codec::Error> {
        sink.value(MESSAGES, &self.messages)
    }
}
