//! The cancel signal (Ctrl-C): once given, no new step starts and running tool calls get a
//! grace period to finish.

use std::sync::Arc;

use tokio::sync::watch;

/// A one-way switch shared by everything one run starts. Clones share the switch.
#[derive(Debug, Clone)]
pub struct Cancel {
    switch: Arc<watch::Sender<bool>>,
}

impl Default for Cancel {
    fn default() -> Self {
        Self::new()
    }
}

impl Cancel {
    pub fn new() -> Self {
        Self {
            switch: Arc::new(watch::Sender::new(false)),
        }
    }

    /// Flips the switch; every waiter of [`Cancel::cancelled`] wakes.
    pub fn cancel(&self) {
        self.switch.send_replace(true);
    }

    pub fn is_cancelled(&self) -> bool {
        *self.switch.borrow()
    }

    /// Returns once [`Cancel::cancel`] has been called (at once if it already was).
    pub async fn cancelled(&self) {
        let mut seen = self.switch.subscribe();
        // The sender lives in `self`, so the channel cannot close while we wait.
        let _ = seen.wait_for(|cancelled| *cancelled).await;
    }
}
