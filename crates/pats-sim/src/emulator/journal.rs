//! The state file's journal: what a request changed, appended and synced before its answer
//! leaves, by a thread of its own; and the compactions that fold the journal into a new
//! state file.
//!
//! - A request that may change something ends with [`Journal::record`]: under one lock, it
//!   takes what each simulator changed (only the changed rows of its tables, and its small
//!   fields, `crate::table`), numbers it (a ticket) and hands it to the writer thread as one
//!   JSON line. The answer waits, without holding a server thread, until the writer has
//!   synced that ticket ([`crate::answer::Durable`]). So a write costs what it changed, not
//!   what the state holds.
//! - The writer appends lines to `<state>.journal.<generation>` and syncs once per batch.
//!   When the journal outgrows the last state file (and 1 MiB), and whenever a simulator's
//!   whole state was replaced (`PUT /_pats_sim/state`, `reset`), it compacts: it starts
//!   the next generation's journal, then takes the state, writes it as a new state file
//!   naming that generation (`"journal": n`, a new file renamed into place), and removes
//!   the older journal. Compaction costs O(state) once per O(state) bytes of journal.
//! - At start, the state file is read, then every journal of its generation or later, in
//!   order: each line sets rows to what they were when it was written. A last line cut
//!   short by a crash (no newline) was never answered and is dropped; any other line that
//!   is not one the writer could have written is an error, naming the file and line.
//! - When the emulator stops, the writer writes the whole state one last time and removes
//!   the journal, so a stopped emulator leaves the state file alone.

use super::{Inner, create_private};
use crate::answer::Durable;
use crate::table::Changes;
use serde_json::{Map, Value};
use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Mutex, MutexGuard, Weak};
use std::thread::JoinHandle;
use tokio::sync::watch;

/// A journal smaller than this is never compacted.
const MIN_COMPACT_BYTES: u64 = 1 << 20;
/// At most this many lines are written with one sync.
const MAX_BATCH: usize = 1024;

/// What the writer thread is asked to do.
enum Message {
    /// Append this line (ticket, bytes with the newline).
    Line(u64, Vec<u8>),
    /// Write the whole state (ticket); `stop`: then remove the journal and end.
    Compact {
        ticket: u64,
        stop: bool,
        done: Option<mpsc::Sender<std::io::Result<()>>>,
    },
}

struct Draining {
    /// The last ticket handed out.
    last: u64,
    /// To the writer; `None` once it was told to stop.
    to_writer: Option<mpsc::Sender<Message>>,
}

impl Draining {
    /// The next ticket.
    fn next(&mut self) -> u64 {
        self.last += 1;
        self.last
    }
}

/// The journal of a running emulator with a state file.
pub(super) struct Journal {
    draining: Mutex<Draining>,
    committed: watch::Receiver<u64>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

/// The files the writer thread owns.
pub(super) struct Files {
    state: PathBuf,
    generation: u64,
    journal: File,
    bytes: u64,
    snapshot_bytes: u64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The state file's name (`state` for a path without one).
fn file_name(state: &Path) -> String {
    state
        .file_name()
        .map_or_else(|| "state".into(), |n| n.to_string_lossy().into_owned())
}

/// `<state>.journal.<generation>`, beside the state file.
pub(super) fn journal_path(state: &Path, generation: u64) -> PathBuf {
    let name = file_name(state);
    state.with_file_name(format!("{name}.journal.{generation}"))
}

/// The journals beside `state`, by generation.
fn journals(state: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
    let name = file_name(state);
    let prefix = format!("{name}.journal.");
    let dir = match state.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let file = entry.file_name();
        let Some(generation) = file
            .to_str()
            .and_then(|f| f.strip_prefix(&prefix))
            .filter(|g| !g.is_empty() && g.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|g| g.parse::<u64>().ok())
        else {
            continue;
        };
        found.push((generation, entry.path()));
    }
    found.sort();
    Ok(found)
}

/// What the journals of `state` from generation `from` on hold: their lines, in order, and
/// the highest generation found (`from` when there is none).
pub(super) fn read_journals(state: &Path, from: u64) -> Result<(Vec<Value>, u64), String> {
    let files: Vec<(u64, PathBuf)> = journals(state)
        .map_err(|e| format!("cannot list its journals: {e}"))?
        .into_iter()
        .filter(|(g, _)| *g >= from)
        .collect();
    let mut lines = Vec::new();
    let mut highest = from;
    let count = files.len();
    for (i, (generation, path)) in files.into_iter().enumerate() {
        highest = highest.max(generation);
        let bytes = read_private(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let last_file = i + 1 == count;
        let mut rest: &[u8] = &bytes;
        let mut number = 0;
        while !rest.is_empty() {
            number += 1;
            let (line, complete) = match rest.iter().position(|b| *b == b'\n') {
                Some(end) => {
                    let line = &rest[..end];
                    rest = &rest[end + 1..];
                    (line, true)
                }
                None => (std::mem::take(&mut rest), false),
            };
            match serde_json::from_slice::<Value>(line) {
                Ok(Value::Object(map)) if complete => lines.push(Value::Object(map)),
                // A write a crash cut short: its request was never answered.
                _ if !complete && last_file => break,
                _ => {
                    return Err(format!(
                        "{} line {number} is not a journal entry",
                        path.display()
                    ));
                }
            }
        }
    }
    Ok((lines, highest))
}

/// The bytes of a journal: a regular file, not followed through a symbolic link.
fn read_private(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.custom_flags(libc::O_NOFOLLOW);
    }
    let mut file = options.open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Removes the journals of `state` older than `generation`.
fn remove_older(state: &Path, generation: u64) {
    if let Ok(found) = journals(state) {
        for (g, path) in found {
            if g < generation {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

/// Writes `document` as the state file `path`, atomically: a new private file of a random
/// name beside it, synced, then renamed over it. Returns its size.
pub(super) fn write_state(path: &Path, document: &Value) -> std::io::Result<u64> {
    let bytes = serde_json::to_vec_pretty(document).map_err(std::io::Error::other)?;
    let name = file_name(path);
    let temp = path.with_file_name(format!(".{name}.{}.tmp", super::random_hex(8)));
    super::write_new_private(&temp, &bytes)?;
    std::fs::rename(&temp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&temp);
    })?;
    Ok(bytes.len() as u64)
}

impl Files {
    /// Writes the state file for `generation` and opens that generation's journal; older
    /// journals are removed.
    pub(super) fn create(state: &Path, generation: u64, inner: &Inner) -> std::io::Result<Self> {
        let journal_file = journal_path(state, generation);
        // A journal of this generation can only be one a crash left before its state file
        // was written: it was read at start, and its lines are in the state now.
        let _ = std::fs::remove_file(&journal_file);
        let journal = create_private(&journal_file)?;
        let snapshot_bytes = write_state(state, &inner.document(Some(generation)))?;
        remove_older(state, generation);
        Ok(Files {
            state: state.to_owned(),
            generation,
            journal,
            bytes: 0,
            snapshot_bytes,
        })
    }

    fn append(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.journal.write_all(bytes)?;
        self.journal.sync_data()?;
        self.bytes += bytes.len() as u64;
        Ok(())
    }

    /// Starts the next generation's journal, then writes the whole state naming it, then
    /// removes the older journal. In that order: a line written before the switch is in
    /// the state taken after it, and one written after it is replayed on top.
    fn compact(&mut self, inner: &Inner) -> std::io::Result<()> {
        let next = self.generation + 1;
        let journal = create_private(&journal_path(&self.state, next))?;
        self.journal = journal;
        self.generation = next;
        self.bytes = 0;
        self.snapshot_bytes = write_state(&self.state, &inner.document(Some(next)))?;
        remove_older(&self.state, next);
        Ok(())
    }

    fn due(&self) -> bool {
        self.bytes > MIN_COMPACT_BYTES.max(self.snapshot_bytes)
    }
}

impl Journal {
    /// Starts the writer thread on `files`.
    pub(super) fn start(files: Files, inner: Weak<Inner>) -> std::io::Result<Self> {
        let (to_writer, from_emulator) = mpsc::channel();
        let (done, committed) = watch::channel(0);
        let writer = std::thread::Builder::new()
            .name("pats-sim-journal".into())
            .spawn(move || write_loop(files, &from_emulator, &done, &inner))?;
        Ok(Journal {
            draining: Mutex::new(Draining {
                last: 0,
                to_writer: Some(to_writer),
            }),
            committed,
            writer: Mutex::new(Some(writer)),
        })
    }

    /// Hands what the simulators changed to the writer; what the answer to the request
    /// that changed it waits for. `None`: nothing to wait for.
    pub(super) fn record(&self, inner: &Inner) -> Option<Box<Durable>> {
        let mut draining = lock(&self.draining);
        let to_writer = draining.to_writer.clone()?;
        let (line, everything) = inner.changes();
        if let Some(line) = line
            && !everything
        {
            let _ = to_writer.send(Message::Line(draining.next(), line));
        }
        // A whole state was replaced: the state file written next holds it, and every row
        // just taken.
        if everything {
            let _ = to_writer.send(Message::Compact {
                ticket: draining.next(),
                stop: false,
                done: None,
            });
        }
        // Even when this request changed nothing itself, what it changed may be in a line
        // another request took: wait for every line handed out so far.
        let ticket = draining.last;
        drop(draining);
        (*self.committed.borrow() < ticket)
            .then(|| Box::new(Durable::new(self.committed.clone(), ticket)))
    }

    /// Writes the whole state now, and waits for it.
    pub(super) fn save(&self, inner: &Inner) -> std::io::Result<()> {
        self.compact(inner, false)
    }

    /// Writes the whole state one last time, removes the journal and stops the writer.
    pub(super) fn stop(&self, inner: &Inner) -> std::io::Result<()> {
        let result = self.compact(inner, true);
        if let Some(writer) = lock(&self.writer).take() {
            let _ = writer.join();
        }
        result
    }

    fn compact(&self, inner: &Inner, stop: bool) -> std::io::Result<()> {
        let (done, finished) = mpsc::channel();
        {
            let mut draining = lock(&self.draining);
            let Some(to_writer) = draining.to_writer.clone() else {
                return Err(std::io::Error::other("the emulator has stopped"));
            };
            // The state file the writer takes after this holds what changed until now;
            // a request that changed it waits for this ticket (it takes one after it).
            let _ = inner.changes();
            let message = Message::Compact {
                ticket: draining.next(),
                stop,
                done: Some(done),
            };
            if stop {
                draining.to_writer = None;
            }
            to_writer
                .send(message)
                .map_err(|_| std::io::Error::other("the state writer has stopped"))?;
        }
        finished
            .recv()
            .map_err(|_| std::io::Error::other("the state writer has stopped"))?
    }
}

/// The writer thread: appends lines in batches, compacts when due or asked, and publishes
/// the last ticket that is on disk.
fn write_loop(
    mut files: Files,
    from_emulator: &mpsc::Receiver<Message>,
    committed: &watch::Sender<u64>,
    inner: &Weak<Inner>,
) {
    while let Ok(first) = from_emulator.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match from_emulator.try_recv() {
                Ok(m) => batch.push(m),
                Err(_) => break,
            }
        }
        let mut pending: Vec<u8> = Vec::new();
        let mut upto = *committed.borrow();
        for message in batch {
            match message {
                Message::Line(ticket, bytes) => {
                    pending.extend_from_slice(&bytes);
                    upto = ticket;
                }
                Message::Compact { ticket, stop, done } => {
                    if let Err(e) = files.append(&pending) {
                        report(&files.state, "its journal", &e);
                    }
                    pending.clear();
                    let result = match inner.upgrade() {
                        Some(inner) => files.compact(&inner),
                        None => Err(std::io::Error::other("the emulator has stopped")),
                    };
                    if let Err(e) = &result {
                        report(&files.state, "it", e);
                    }
                    committed.send_replace(ticket);
                    upto = ticket;
                    if stop {
                        if result.is_ok() {
                            let _ =
                                std::fs::remove_file(journal_path(&files.state, files.generation));
                        }
                        if let Some(done) = done {
                            let _ = done.send(result);
                        }
                        return;
                    }
                    if let Some(done) = done {
                        let _ = done.send(result);
                    }
                }
            }
        }
        if let Err(e) = files.append(&pending) {
            report(&files.state, "its journal", &e);
        }
        committed.send_replace(upto);
        if files.due()
            && let Some(inner) = inner.upgrade()
            && let Err(e) = files.compact(&inner)
        {
            report(&files.state, "it", &e);
        }
    }
}

/// Says on stderr that a write failed (the emulator goes on answering).
fn report(state: &Path, what: &str, e: &std::io::Error) {
    eprintln!(
        "pats-sim: cannot write the state file {} ({what}): {e}",
        state.display()
    );
}

/// The line of a journal entry: `{"dfns": …, "zitadel": …, "sailpoint": …, "gitlab": …}`
/// with the simulators that changed rows, and whether one replaced its whole state.
pub(super) fn entry(changes: [(&str, Changes); 4]) -> (Option<Vec<u8>>, bool) {
    let mut line = Map::new();
    let mut everything = false;
    for (name, change) in changes {
        match change {
            Changes::Nothing => {}
            Changes::Rows(rows) => {
                line.insert(name.to_owned(), rows);
            }
            Changes::Everything => everything = true,
        }
    }
    if line.is_empty() {
        return (None, everything);
    }
    match serde_json::to_vec(&Value::Object(line)) {
        Ok(mut bytes) => {
            bytes.push(b'\n');
            (Some(bytes), everything)
        }
        // Rows that do not serialize cannot be journaled: a full write records them.
        Err(_) => (None, true),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn journals_are_the_files_beside_the_state_named_by_a_generation() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s.json");
        for name in [
            "s.json",
            "s.json.journal.2",
            "s.json.journal.10",
            "s.json.journal.+3",
            "s.json.journal.",
            "s.json.journal.4.tmp",
            "other.json.journal.5",
        ] {
            std::fs::write(dir.path().join(name), b"").unwrap();
        }
        let found: Vec<u64> = journals(&state)
            .unwrap()
            .into_iter()
            .map(|(g, _)| g)
            .collect();
        assert_eq!(found, [2, 10]);
        assert_eq!(journal_path(&state, 7), dir.path().join("s.json.journal.7"));
        // A state named without a directory has its journals in the working directory.
        assert!(
            journals(Path::new("pats-sim-test-no-such-state.json"))
                .unwrap()
                .is_empty()
        );
    }
}
