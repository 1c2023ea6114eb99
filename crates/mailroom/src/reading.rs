//! Starts the attachment-text worker (issue 18) on this node: a leased queue, so every node
//! may run one; it wakes on the store's event signal and stops with the server.

use mailroom_engine::Engine;
use std::sync::Arc;
use tokio::sync::watch;

/// Spawns the worker; its task joins `tasks` and ends when `shutdown` turns true.
pub fn spawn_worker(engine: &Engine, shutdown: &watch::Receiver<bool>, tasks: &mut Vec<tokio::task::JoinHandle<()>>) {
    let worker = Arc::new(mailroom_reading::TextWorker::new(engine.store().clone(), engine.blobs().clone(), mailroom_reading::TextWorkerConfig::default()));
    tasks.push(tokio::spawn(worker.run(shutdown.clone())));
}
