//! An observer that counts round trips and the bytes each save sends.

use std::sync::atomic::{AtomicU64, Ordering};

use rocket_typed_session::async_trait;
use rocket_typed_session::store::{record_size, Changes, Error};
use rocket_typed_session::testing::{Observer, StoreCall};

#[derive(Default)]
pub struct Counters {
    pub calls: AtomicU64,
    pub bytes_written: AtomicU64,
}

impl Counters {
    pub fn take(&self) -> (u64, u64) {
        (self.calls.swap(0, Ordering::Relaxed), self.bytes_written.swap(0, Ordering::Relaxed))
    }
}

fn change_bytes(changes: &Changes) -> usize {
    record_size(&changes.set) + changes.remove.iter().map(String::len).sum::<usize>()
}

#[async_trait]
impl Observer for Counters {
    async fn before(&self, call: StoreCall<'_>) -> Result<(), Error> {
        let bytes = match call {
            StoreCall::Create { fields, .. } => record_size(fields),
            StoreCall::Update { changes, .. } | StoreCall::Regenerate { changes, .. } => {
                change_bytes(changes)
            }
            _ => 0,
        };
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.bytes_written.fetch_add(bytes as u64, Ordering::Relaxed);
        Ok(())
    }
}
