//! The host's log streams on disk, under `<data_dir>/logs/`: one directory per group (`group.json`: its name and
//! retention) holding one directory per stream (`meta.json`: names, creation time, sequence and shipping cursor)
//! with the stream's events in append-only segment files.
//!
//! - Names are arbitrary strings: directories are named by a readable, sanitized prefix plus a hash of the name,
//!   and the real names live in the JSON files.
//! - Every event gets the stream's next sequence number, which never goes back, even when old segments are
//!   dropped. Positions in `GetLogEvents` tokens are sequence numbers, so tokens stay valid as data ages out.
//! - A segment file (`<first seq>.seg`) is a run of records `[u32 length][u64 seq][i64 timestamp][i64 ingestion]
//!   [i64 source ns][message]`, little-endian. A sealed segment gets a `.sum` summary, so opening the store reads
//!   only each stream's last segment; a torn record at its end (a crash mid-write) is cut off.
//! - The shipping cursor (the last Docker timestamp shipped and how many lines carried it) is derived from the last
//!   records on open, so it can never disagree with what is stored; `meta.json` keeps it for streams whose
//!   segments were all dropped. Segments roll only where the Docker timestamp changes, so that run is in one file.
//! - Caps: a stream over its cap drops its oldest segments; the host over its cap drops the segments whose newest
//!   event is the oldest, whichever stream holds them. Retention (days, per group) drops segments whose events are
//!   all older (a periodic [`LogStore::sweep`]), and reads never return older events.
//!
//! All methods block on the file system: async callers run them with `spawn_blocking`.

use std::collections::{BTreeMap, VecDeque};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use berth_model::logs::{
    DescribeStreamsRequest, DescribeStreamsResponse, EventCursor, FilterEventsRequest, FilterEventsResponse,
    FilteredLogEvent, GetEventsRequest, GetEventsResponse, OutputLogEvent, PutRetentionRequest, StreamInfo,
};
use serde::{Deserialize, Serialize};

use super::pattern::Pattern;

/// The largest message kept (CloudWatch's event size limit); longer ones are cut.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;
/// The most message bytes one answer carries, as CloudWatch's 1 MB (each event counts 26 bytes more).
const ANSWER_MAX_BYTES: usize = 1_048_576;
const EVENT_OVERHEAD: usize = 26;
/// Fixed part of a record after its length: seq, timestamp, ingestion time, source ns.
const RECORD_FIXED: usize = 32;
const MS_PER_DAY: i64 = 86_400_000;

pub const STREAM_NOT_FOUND: &str = "The specified log stream does not exist.";
pub const GROUP_NOT_FOUND: &str = "The specified log group does not exist.";
pub const INVALID_TOKEN: &str = "The specified nextToken is invalid.";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// `ResourceNotFoundException`.
    #[error("{0}")]
    NotFound(&'static str),
    /// `InvalidParameterException`.
    #[error("{0}")]
    Invalid(String),
    #[error("log store: {0}")]
    Io(#[from] io::Error),
    #[error("the log store is closed")]
    Closed,
}

impl StoreError {
    /// The CloudWatch Logs error code.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::NotFound(_) => "ResourceNotFoundException",
            StoreError::Invalid(_) => "InvalidParameterException",
            StoreError::Io(_) | StoreError::Closed => "ServiceUnavailableException",
        }
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// How much the store keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// All streams of the host together.
    pub host_max_bytes: u64,
    /// One stream.
    pub stream_max_bytes: u64,
}

impl Limits {
    /// Segments are a sixteenth of a stream's cap (so a capped stream keeps at least 15/16 of it), 4 KiB to 2 MiB:
    /// a read decodes whole segments.
    fn segment_bytes(&self) -> u64 {
        (self.stream_max_bytes / 16).clamp(4096, 2 << 20)
    }
}

/// Where shipping a stream got to: the source timestamp (ns) of the last stored event and how many stored events
/// carried it, so a resumed reader from that second can skip exactly what is already stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceCursor {
    pub ns: i64,
    pub count: u64,
}

impl SourceCursor {
    /// The cursor after storing a line stamped `ns`: the newest timestamp and how many stored lines carry it.
    pub fn advance(&mut self, ns: i64) {
        if self.count == 0 || ns > self.ns {
            *self = SourceCursor { ns, count: 1 };
        } else if ns == self.ns {
            self.count += 1;
        }
    }

    /// Whether a line stamped `ns` would move the cursor to a new timestamp.
    fn is_new(&self, ns: i64) -> bool {
        self.count == 0 || ns > self.ns
    }
}

/// An event to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// Milliseconds since the epoch.
    pub timestamp: i64,
    /// The source's own timestamp (Docker's, in ns), for the shipping cursor.
    pub source_ns: i64,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Record {
    seq: u64,
    timestamp: i64,
    ingestion: i64,
    source_ns: i64,
    message: String,
}

fn encode(r: &Record, out: &mut Vec<u8>) {
    let len = (RECORD_FIXED + r.message.len()) as u32;
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&r.seq.to_le_bytes());
    out.extend_from_slice(&r.timestamp.to_le_bytes());
    out.extend_from_slice(&r.ingestion.to_le_bytes());
    out.extend_from_slice(&r.source_ns.to_le_bytes());
    out.extend_from_slice(r.message.as_bytes());
}

fn le_u64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_le_bytes(a)
}

/// Walks a segment file's bytes record by record without decoding messages: each record's sequence number and the
/// range of its body. Stops at the first record that is cut off or malformed.
fn frames(bytes: &[u8]) -> impl Iterator<Item = (u64, std::ops::Range<usize>)> + '_ {
    let mut pos = 0;
    std::iter::from_fn(move || {
        let header = bytes.get(pos..pos + 4)?;
        let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
        if !(RECORD_FIXED..=RECORD_FIXED + MAX_MESSAGE_BYTES).contains(&len) || pos + 4 + len > bytes.len() {
            return None;
        }
        let body = pos + 4..pos + 4 + len;
        pos = body.end;
        Some((le_u64(&bytes[body.start..]), body))
    })
}

/// One record from its body, or `None` when the message is not UTF-8 (a damaged file).
fn decode(body: &[u8]) -> Option<Record> {
    let message = std::str::from_utf8(&body[RECORD_FIXED..]).ok()?;
    Some(Record {
        seq: le_u64(&body[0..]),
        timestamp: le_u64(&body[8..]) as i64,
        ingestion: le_u64(&body[16..]) as i64,
        source_ns: le_u64(&body[24..]) as i64,
        message: message.to_owned(),
    })
}

/// The records of a segment file's bytes, and how many bytes of it are whole records.
fn decode_all(bytes: &[u8]) -> (Vec<Record>, usize) {
    let mut out = Vec::new();
    let mut valid = 0;
    for (_, body) in frames(bytes) {
        let Some(record) = decode(&bytes[body.clone()]) else { break };
        out.push(record);
        valid = body.end;
    }
    (out, valid)
}

/// An event's id: its sequence number, then its stream's hash, so ids sort in stream order within a stream and are
/// unique within a group.
fn event_id(seq: u64, stream_hash: u64) -> String {
    format!("{seq:020}{stream_hash:020}")
}

/// FNV-1a: a stable hash (std's is randomized per process) for directory names, tokens and event ids.
fn fnv64(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            h ^= 0;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        for b in part.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// A file name for an arbitrary name: up to 48 safe characters of it, then its hash.
fn dir_name(name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_') { c } else { '_' })
        .take(48)
        .collect();
    format!("{safe}.{:016x}", fnv64(&[name]))
}

pub(crate) fn now_ms() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    since.as_millis() as i64
}

/// A message cut to [`MAX_MESSAGE_BYTES`] on a character boundary.
fn bounded(mut message: String) -> String {
    if message.len() > MAX_MESSAGE_BYTES {
        let mut end = MAX_MESSAGE_BYTES;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
    }
    message
}

/// What the store knows of one segment without reading it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Segment {
    first_seq: u64,
    count: u64,
    bytes: u64,
    min_ts: i64,
    max_ts: i64,
    last_ingestion: i64,
}

impl Segment {
    fn new(first_seq: u64) -> Segment {
        Segment { first_seq, count: 0, bytes: 0, min_ts: i64::MAX, max_ts: i64::MIN, last_ingestion: 0 }
    }

    fn add(&mut self, r: &Record) {
        self.count += 1;
        self.bytes += (4 + RECORD_FIXED + r.message.len()) as u64;
        self.min_ts = self.min_ts.min(r.timestamp);
        self.max_ts = self.max_ts.max(r.timestamp);
        self.last_ingestion = self.last_ingestion.max(r.ingestion);
    }

    fn end_seq(&self) -> u64 {
        self.first_seq + self.count
    }

    fn path(&self, dir: &Path) -> PathBuf {
        dir.join(format!("{:020}.seg", self.first_seq))
    }

    fn summary_path(&self, dir: &Path) -> PathBuf {
        dir.join(format!("{:020}.sum", self.first_seq))
    }

    fn read(&self, dir: &Path) -> io::Result<Vec<Record>> {
        let bytes = fs::read(self.path(dir))?;
        Ok(decode_all(&bytes).0)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StreamMeta {
    group: String,
    stream: String,
    creation_time: i64,
    next_seq: u64,
    cursor: SourceCursor,
    #[serde(default)]
    last_ingestion_time: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupMeta {
    name: String,
    #[serde(default)]
    retention_in_days: Option<u32>,
}

struct Stream {
    group: String,
    name: String,
    dir: PathBuf,
    /// Identifies the stream in tokens and event ids.
    hash: u64,
    creation_time: i64,
    /// Oldest first; the last one is written to.
    segments: VecDeque<Segment>,
    next_seq: u64,
    cursor: SourceCursor,
    last_ingestion: Option<i64>,
    writer: Option<File>,
}

impl Stream {
    fn bytes(&self) -> u64 {
        self.segments.iter().map(|s| s.bytes).sum()
    }

    fn meta(&self) -> StreamMeta {
        StreamMeta {
            group: self.group.clone(),
            stream: self.name.clone(),
            creation_time: self.creation_time,
            next_seq: self.next_seq,
            cursor: self.cursor,
            last_ingestion_time: self.last_ingestion,
        }
    }

    fn write_meta(&self) -> io::Result<()> {
        write_json(&self.dir.join("meta.json"), &self.meta())
    }

    /// Removes the oldest segment; returns the bytes freed.
    fn drop_front(&mut self) -> io::Result<u64> {
        let Some(segment) = self.segments.pop_front() else { return Ok(0) };
        if self.segments.is_empty() {
            self.writer = None;
        }
        remove_if_present(&segment.path(&self.dir))?;
        remove_if_present(&segment.summary_path(&self.dir))?;
        self.write_meta()?;
        Ok(segment.bytes)
    }

    /// Visits records with `from <= seq < to` in order (or in reverse); the visitor returns false to stop.
    fn visit(&self, from: u64, to: u64, reverse: bool, mut f: impl FnMut(&Record) -> bool) -> io::Result<()> {
        let segments: Vec<&Segment> =
            self.segments.iter().filter(|s| s.end_seq() > from && s.first_seq < to && s.count > 0).collect();
        let ordered: Box<dyn Iterator<Item = &&Segment>> =
            if reverse { Box::new(segments.iter().rev()) } else { Box::new(segments.iter()) };
        // Only the records in range are decoded: a reader following the tail asks for a few new records at the end
        // of a segment of thousands.
        for segment in ordered {
            let bytes = fs::read(segment.path(&self.dir))?;
            let in_range = frames(&bytes).skip_while(|(seq, _)| *seq < from).take_while(|(seq, _)| *seq < to);
            let bodies: Box<dyn Iterator<Item = (u64, std::ops::Range<usize>)>> =
                if reverse { Box::new(in_range.collect::<Vec<_>>().into_iter().rev()) } else { Box::new(in_range) };
            for (_, body) in bodies {
                let Some(record) = decode(&bytes[body]) else { break };
                if !f(&record) {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    fn first_seq(&self) -> u64 {
        self.segments.front().map_or(self.next_seq, |s| s.first_seq)
    }

    fn token(&self, direction: char, position: u64) -> String {
        format!("{direction}/{position:020}{:020}/s", self.hash)
    }

    /// `(direction, position)` of a token this stream issued.
    fn parse_token(&self, token: &str) -> Result<(char, u64)> {
        let invalid = || StoreError::Invalid(INVALID_TOKEN.to_owned());
        let (direction, rest) = match token.split_at_checked(2) {
            Some(("f/", rest)) => ('f', rest),
            Some(("b/", rest)) => ('b', rest),
            _ => return Err(invalid()),
        };
        let digits = rest.strip_suffix("/s").ok_or_else(invalid)?;
        if digits.len() != 40 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        let position: u64 = digits[..20].parse().map_err(|_| invalid())?;
        let hash: u64 = digits[20..].parse().map_err(|_| invalid())?;
        if hash != self.hash {
            return Err(invalid());
        }
        Ok((direction, position))
    }
}

fn remove_if_present(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Writes JSON through a temporary file and a rename, so a crash leaves the old or the new file.
fn write_json<T: Serialize>(path: &Path, value: &T) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, serde_json::to_vec(value).map_err(io::Error::other)?)?;
    fs::rename(tmp, path)
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> io::Result<T> {
    serde_json::from_slice(&fs::read(path)?).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

struct Group {
    dir: PathBuf,
    retention_days: Option<u32>,
    streams: BTreeMap<String, Stream>,
}

impl Group {
    fn write_meta(&self, name: &str) -> io::Result<()> {
        write_json(
            &self.dir.join("group.json"),
            &GroupMeta { name: name.to_owned(), retention_in_days: self.retention_days },
        )
    }

    /// The oldest timestamp still returned, for a retention of `days`.
    fn cutoff(days: Option<u32>, now: i64) -> i64 {
        days.map_or(i64::MIN, |d| now - i64::from(d) * MS_PER_DAY)
    }
}

struct Inner {
    groups: BTreeMap<String, Group>,
    closed: bool,
}

/// The store; see the module documentation.
pub struct LogStore {
    root: PathBuf,
    limits: Limits,
    inner: Mutex<Inner>,
}

impl LogStore {
    /// Opens (or creates) the store under `root`, reading what an earlier agent left there.
    pub fn open(root: impl Into<PathBuf>, limits: Limits) -> Result<LogStore> {
        let root = root.into();
        fs::create_dir_all(&root)?;
        let mut groups = BTreeMap::new();
        for entry in fs::read_dir(&root)? {
            let dir = entry?.path();
            let Ok(meta) = read_json::<GroupMeta>(&dir.join("group.json")) else { continue };
            let mut group =
                Group { dir: dir.clone(), retention_days: meta.retention_in_days, streams: BTreeMap::new() };
            for entry in fs::read_dir(&dir)? {
                let stream_dir = entry?.path();
                let Ok(meta) = read_json::<StreamMeta>(&stream_dir.join("meta.json")) else { continue };
                match load_stream(stream_dir.clone(), meta) {
                    Ok(stream) => {
                        group.streams.insert(stream.name.clone(), stream);
                    }
                    Err(e) => tracing::warn!(dir = %stream_dir.display(), error = %e, "skipping unreadable log stream"),
                }
            }
            groups.insert(meta.name, group);
        }
        let store = LogStore { root, limits, inner: Mutex::new(Inner { groups, closed: false }) };
        {
            let mut inner = store.lock();
            store.enforce_host_cap(&mut inner)?;
        }
        Ok(store)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Refuses every later write: the agent is stopping, and a new store may open the same directory.
    pub fn close(&self) {
        let mut inner = self.lock();
        inner.closed = true;
        for group in inner.groups.values_mut() {
            for stream in group.streams.values_mut() {
                stream.writer = None;
            }
        }
    }

    /// Bytes of all streams.
    pub fn total_bytes(&self) -> u64 {
        let inner = self.lock();
        inner.groups.values().flat_map(|g| g.streams.values()).map(Stream::bytes).sum()
    }

    /// Creates the stream (and its group) when missing, as the `awslogs` driver does when a container starts.
    pub fn ensure_stream(&self, group: &str, stream: &str) -> Result<()> {
        let mut inner = self.lock();
        if inner.closed {
            return Err(StoreError::Closed);
        }
        self.stream_mut(&mut inner, group, stream)?;
        Ok(())
    }

    fn stream_mut<'a>(&self, inner: &'a mut Inner, group: &str, stream: &str) -> Result<&'a mut Stream> {
        if !inner.groups.contains_key(group) {
            let dir = self.root.join(dir_name(group));
            fs::create_dir_all(&dir)?;
            let g = Group { dir, retention_days: None, streams: BTreeMap::new() };
            g.write_meta(group)?;
            inner.groups.insert(group.to_owned(), g);
        }
        let Some(g) = inner.groups.get_mut(group) else { return Err(StoreError::NotFound(GROUP_NOT_FOUND)) };
        if !g.streams.contains_key(stream) {
            let dir = g.dir.join(dir_name(stream));
            fs::create_dir_all(&dir)?;
            let s = Stream {
                group: group.to_owned(),
                name: stream.to_owned(),
                hash: fnv64(&[group, stream]),
                dir,
                creation_time: now_ms(),
                segments: VecDeque::new(),
                next_seq: 0,
                cursor: SourceCursor::default(),
                last_ingestion: None,
                writer: None,
            };
            s.write_meta()?;
            g.streams.insert(stream.to_owned(), s);
        }
        g.streams.get_mut(stream).ok_or(StoreError::NotFound(STREAM_NOT_FOUND))
    }

    /// The shipping cursor of a stream (`None`: no such stream).
    pub fn cursor(&self, group: &str, stream: &str) -> Option<SourceCursor> {
        let inner = self.lock();
        inner.groups.get(group)?.streams.get(stream).map(|s| s.cursor)
    }

    /// Appends events in order, then applies the caps. When a write fails (a full disk), the stream is read back
    /// from its files, which cuts a torn record and puts the sequence and the shipping cursor back to what is
    /// really stored, so the shipper resends from there instead of skipping the batch.
    pub fn append(&self, group: &str, stream: &str, events: Vec<NewEvent>) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let mut inner = self.lock();
        if inner.closed {
            return Err(StoreError::Closed);
        }
        let result = self.append_locked(&mut inner, group, stream, events);
        if result.is_err()
            && let Some(s) = inner.groups.get_mut(group).and_then(|g| g.streams.get_mut(stream))
        {
            s.writer = None;
            match read_json::<StreamMeta>(&s.dir.join("meta.json")).and_then(|m| load_stream(s.dir.clone(), m)) {
                Ok(reloaded) => *s = reloaded,
                Err(e) => {
                    tracing::warn!(group, stream, error = %e, "cannot read a log stream back after a failed write")
                }
            }
        }
        result
    }

    fn append_locked(&self, inner: &mut Inner, group: &str, stream: &str, events: Vec<NewEvent>) -> Result<()> {
        let segment_bytes = self.limits.segment_bytes();
        let stream_max = self.limits.stream_max_bytes;
        let s = self.stream_mut(inner, group, stream)?;
        let ingestion = now_ms();
        let mut buf = Vec::new();
        let mut meta_changed = false;
        for event in events {
            let roll = match s.segments.back() {
                None => true,
                // Only where the timestamp moves on, so the lines carrying the cursor's timestamp share a file.
                Some(last) => s.writer.is_none() || (last.bytes >= segment_bytes && s.cursor.is_new(event.source_ns)),
            };
            if roll {
                flush(s, &mut buf)?;
                if let Some(last) = s.segments.back() {
                    write_json(&last.summary_path(&s.dir), last)?;
                }
                let segment = Segment::new(s.next_seq);
                s.writer = Some(OpenOptions::new().create(true).append(true).open(segment.path(&s.dir))?);
                s.segments.push_back(segment);
                meta_changed = true;
            }
            let record = Record {
                seq: s.next_seq,
                timestamp: event.timestamp,
                ingestion,
                source_ns: event.source_ns,
                message: bounded(event.message),
            };
            encode(&record, &mut buf);
            if let Some(last) = s.segments.back_mut() {
                last.add(&record);
            }
            s.next_seq += 1;
            s.cursor.advance(record.source_ns);
            s.last_ingestion = Some(ingestion);
        }
        flush(s, &mut buf)?;
        while s.bytes() > stream_max && s.segments.len() > 1 {
            s.drop_front()?;
            meta_changed = false;
        }
        if meta_changed {
            s.write_meta()?;
        }
        self.enforce_host_cap(inner)?;
        Ok(())
    }

    /// Drops the segments whose newest event is the oldest until the host is under its cap.
    fn enforce_host_cap(&self, inner: &mut Inner) -> io::Result<()> {
        let mut total: u64 = inner.groups.values().flat_map(|g| g.streams.values()).map(Stream::bytes).sum();
        while total > self.limits.host_max_bytes {
            let oldest = inner
                .groups
                .iter()
                .flat_map(|(g, group)| group.streams.iter().map(move |(s, stream)| (g, s, stream)))
                .filter_map(|(g, s, stream)| {
                    stream.segments.front().map(|seg| (seg.last_ingestion, g.clone(), s.clone()))
                })
                .min();
            let Some((_, g, s)) = oldest else { break };
            let Some(stream) = inner.groups.get_mut(&g).and_then(|group| group.streams.get_mut(&s)) else { break };
            total = total.saturating_sub(stream.drop_front()?);
        }
        Ok(())
    }

    /// Drops segments whose events are all older than their group's retention.
    pub fn sweep(&self) -> Result<()> {
        let now = now_ms();
        let mut inner = self.lock();
        for group in inner.groups.values_mut() {
            let cutoff = Group::cutoff(group.retention_days, now);
            for stream in group.streams.values_mut() {
                while stream.segments.front().is_some_and(|s| s.max_ts < cutoff) {
                    stream.drop_front()?;
                }
            }
        }
        Ok(())
    }

    /// Takes the server's word for a group's retention, which comes with every read (`None`: keep everything), so
    /// a host that missed a PutRetentionPolicy or DeleteRetentionPolicy catches up.
    fn note_retention(inner: &mut Inner, group: &str, days: Option<u32>) -> io::Result<Option<u32>> {
        let Some(g) = inner.groups.get_mut(group) else { return Ok(days) };
        if g.retention_days != days {
            g.retention_days = days;
            g.write_meta(group)?;
        }
        Ok(g.retention_days)
    }

    /// `GetLogEvents`, with CloudWatch's tokens: see the module documentation of [`super`].
    pub fn get_events(&self, req: &GetEventsRequest) -> Result<GetEventsResponse> {
        let mut inner = self.lock();
        let days = Self::note_retention(&mut inner, &req.log_group_name, req.retention_in_days)?;
        let s = inner
            .groups
            .get(&req.log_group_name)
            .and_then(|g| g.streams.get(&req.log_stream_name))
            .ok_or(StoreError::NotFound(STREAM_NOT_FOUND))?;
        let token = req.next_token.as_deref().filter(|t| !t.is_empty());
        let position = token.map(|t| s.parse_token(t)).transpose()?;
        let cutoff = Group::cutoff(days, now_ms()).max(req.start_time.unwrap_or(i64::MIN));
        let end = req.end_time.unwrap_or(i64::MAX);
        let limit = req.limit.max(1) as usize;
        let (lo, hi) = (s.first_seq(), s.next_seq);

        let mut events: Vec<(u64, OutputLogEvent)> = Vec::new();
        let mut bytes = 0usize;
        let mut full = false;
        let mut take = |r: &Record| {
            if r.timestamp < cutoff || r.timestamp >= end {
                return true;
            }
            let size = r.message.len() + EVENT_OVERHEAD;
            if events.len() >= limit || (bytes + size > ANSWER_MAX_BYTES && !events.is_empty()) {
                full = true;
                return false;
            }
            bytes += size;
            events.push((
                r.seq,
                OutputLogEvent { timestamp: r.timestamp, message: r.message.clone(), ingestion_time: r.ingestion },
            ));
            true
        };
        let forward = match position {
            Some(('f', _)) => true,
            Some(_) => false,
            None => req.start_from_head,
        };
        let (next_forward, next_backward) = if forward {
            let from = position.map_or(lo, |(_, p)| p);
            s.visit(from, hi, false, &mut take)?;
            let first = events.first().map_or(from, |(seq, _)| *seq);
            let after = if full { events.last().map_or(hi, |(seq, _)| seq + 1) } else { hi.max(from) };
            (s.token('f', after), s.token('b', first))
        } else {
            let before = position.map_or(hi, |(_, p)| p);
            s.visit(lo, before, true, &mut take)?;
            events.reverse();
            let first = events.first().map_or(before, |(seq, _)| *seq);
            (s.token('f', before), s.token('b', first))
        };
        // At either end CloudWatch hands back the token it was given, which is how readers know to stop.
        let (next_forward, next_backward) = match (token, events.is_empty()) {
            (Some(t), true) if forward => (t.to_owned(), next_backward),
            (Some(t), true) => (next_forward, t.to_owned()),
            _ => (next_forward, next_backward),
        };
        Ok(GetEventsResponse {
            events: events.into_iter().map(|(_, e)| e).collect(),
            next_forward_token: next_forward,
            next_backward_token: next_backward,
        })
    }

    /// `FilterLogEvents` over this host's streams of a group, in `(timestamp, eventId)` order after `after`.
    pub fn filter_events(&self, req: &FilterEventsRequest) -> Result<FilterEventsResponse> {
        let pattern =
            Pattern::parse(req.filter_pattern.as_deref().unwrap_or("")).map_err(|e| StoreError::Invalid(e.0))?;
        let end = req.end_time.unwrap_or(i64::MAX);
        let after_ts = req.after.as_ref().map_or(i64::MIN, |a| a.timestamp);
        let limit = req.limit.max(1) as usize;
        let wanted = |name: &str| {
            req.log_stream_names.as_ref().is_none_or(|names| names.iter().any(|n| n == name))
                && req.log_stream_name_prefix.as_ref().is_none_or(|p| name.starts_with(p.as_str()))
        };
        // What to read is taken under the lock; the files are read after it is released, so shipping and other
        // reads go on meanwhile. Sealed segments never change; the one being written may have grown (a record cut
        // off at its end is not read) or have been dropped by the caps (read as nothing).
        let (lower, plan) = {
            let mut inner = self.lock();
            let days = Self::note_retention(&mut inner, &req.log_group_name, req.retention_in_days)?;
            let group = inner.groups.get(&req.log_group_name).ok_or(StoreError::NotFound(GROUP_NOT_FOUND))?;
            let lower = Group::cutoff(days, now_ms()).max(req.start_time.unwrap_or(i64::MIN));
            let plan: Vec<(String, PathBuf, u64, Vec<Segment>)> = group
                .streams
                .values()
                .filter(|s| wanted(&s.name))
                .map(|s| {
                    let segments = s
                        .segments
                        .iter()
                        .filter(|seg| seg.count > 0 && seg.max_ts >= lower.max(after_ts) && seg.min_ts <= end);
                    (s.name.clone(), s.dir.clone(), s.hash, segments.cloned().collect())
                })
                .collect();
            (lower, plan)
        };
        // The best `limit + 1` matches across all streams so far; a segment whose earliest event sorts after the
        // last of them cannot improve on them, which bounds both the reading and the memory.
        let mut all: Vec<(EventCursor, FilteredLogEvent)> = Vec::new();
        let by_key = |a: &(EventCursor, FilteredLogEvent), b: &(EventCursor, FilteredLogEvent)| a.0.cmp(&b.0);
        for (name, dir, hash, segments) in plan {
            for segment in segments {
                if all.len() > limit && all[limit].0.timestamp < segment.min_ts {
                    break;
                }
                let bytes = match fs::read(segment.path(&dir)) {
                    Ok(bytes) => bytes,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(e.into()),
                };
                for (seq, body) in frames(&bytes) {
                    let body = &bytes[body];
                    let timestamp = le_u64(&body[8..]) as i64;
                    if timestamp < lower || timestamp > end {
                        continue;
                    }
                    // Messages are matched in place; only matches are copied out.
                    let Ok(message) = std::str::from_utf8(&body[RECORD_FIXED..]) else { break };
                    if !pattern.matches(message) {
                        continue;
                    }
                    let key = EventCursor { timestamp, event_id: event_id(seq, hash) };
                    if req.after.as_ref().is_some_and(|a| key <= *a) {
                        continue;
                    }
                    let event = FilteredLogEvent {
                        log_stream_name: name.clone(),
                        timestamp,
                        message: message.to_owned(),
                        ingestion_time: le_u64(&body[16..]) as i64,
                        event_id: key.event_id.clone(),
                    };
                    all.push((key, event));
                    if all.len() > 2 * (limit + 1) {
                        all.sort_by(by_key);
                        all.truncate(limit + 1);
                    }
                }
                all.sort_by(by_key);
                all.truncate(limit + 1);
            }
        }
        all.sort_by(|a, b| a.0.cmp(&b.0));
        let mut more = all.len() > limit;
        all.truncate(limit);
        let mut bytes = 0usize;
        let mut events = Vec::with_capacity(all.len());
        for (_, e) in all {
            bytes += e.message.len() + EVENT_OVERHEAD;
            if bytes > ANSWER_MAX_BYTES && !events.is_empty() {
                more = true;
                break;
            }
            events.push(e);
        }
        Ok(FilterEventsResponse { events, more })
    }

    /// `DescribeLogStreams` details of this host's streams of a group.
    pub fn describe_streams(&self, req: &DescribeStreamsRequest) -> Result<DescribeStreamsResponse> {
        let inner = self.lock();
        let group = inner.groups.get(&req.log_group_name).ok_or(StoreError::NotFound(GROUP_NOT_FOUND))?;
        let cutoff = Group::cutoff(group.retention_days, now_ms());
        let log_streams = group
            .streams
            .values()
            .filter(|s| req.log_stream_name_prefix.as_ref().is_none_or(|p| s.name.starts_with(p.as_str())))
            .map(|s| {
                let live = s.segments.iter().filter(|seg| seg.count > 0 && seg.max_ts >= cutoff);
                let first = live.clone().map(|seg| seg.min_ts).min();
                let last = live.map(|seg| seg.max_ts).max();
                StreamInfo {
                    log_stream_name: s.name.clone(),
                    creation_time: s.creation_time,
                    first_event_timestamp: first,
                    last_event_timestamp: last,
                    last_ingestion_time: s.last_ingestion,
                    stored_bytes: s.bytes(),
                }
            })
            .collect();
        Ok(DescribeStreamsResponse { log_streams })
    }

    /// Removes every stream of a group from the host; a group the host does not hold is already gone.
    pub fn delete_group(&self, group: &str) -> Result<()> {
        let mut inner = self.lock();
        if let Some(g) = inner.groups.remove(group) {
            match fs::remove_dir_all(&g.dir) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e.into()),
                _ => {}
            }
        }
        Ok(())
    }

    /// Sets or clears a group's retention (remembered for streams the group gets later), then sweeps.
    pub fn put_retention(&self, req: &PutRetentionRequest) -> Result<()> {
        {
            let mut inner = self.lock();
            if let Some(g) = inner.groups.get_mut(&req.log_group_name) {
                g.retention_days = req.retention_in_days;
                g.write_meta(&req.log_group_name)?;
            } else if req.retention_in_days.is_some() {
                let dir = self.root.join(dir_name(&req.log_group_name));
                fs::create_dir_all(&dir)?;
                let g = Group { dir, retention_days: req.retention_in_days, streams: BTreeMap::new() };
                g.write_meta(&req.log_group_name)?;
                inner.groups.insert(req.log_group_name.clone(), g);
            }
        }
        self.sweep()
    }
}

fn flush(s: &mut Stream, buf: &mut Vec<u8>) -> io::Result<()> {
    if buf.is_empty() {
        return Ok(());
    }
    if let Some(w) = s.writer.as_mut() {
        w.write_all(buf)?;
    }
    buf.clear();
    Ok(())
}

/// Reads a stream's directory: summaries of sealed segments, the last segment itself (cut after its last whole
/// record), and the sequence and cursor from its tail.
fn load_stream(dir: PathBuf, meta: StreamMeta) -> io::Result<Stream> {
    let mut firsts: Vec<u64> = Vec::new();
    for entry in fs::read_dir(&dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "seg")
            && let Some(first) = path.file_stem().and_then(|s| s.to_str()).and_then(|s| s.parse().ok())
        {
            firsts.push(first);
        }
    }
    firsts.sort_unstable();
    let mut stream = Stream {
        hash: fnv64(&[&meta.group, &meta.stream]),
        group: meta.group,
        name: meta.stream,
        dir,
        creation_time: meta.creation_time,
        segments: VecDeque::new(),
        next_seq: meta.next_seq,
        cursor: meta.cursor,
        last_ingestion: meta.last_ingestion_time,
        writer: None,
    };
    let count = firsts.len();
    for (i, first) in firsts.into_iter().enumerate() {
        let mut segment = Segment::new(first);
        // The last segment is written to again: its summary (if a crash left one) would go stale.
        if i + 1 < count
            && let Ok(summary) = read_json::<Segment>(&segment.summary_path(&stream.dir))
        {
            stream.segments.push_back(summary);
            continue;
        }
        remove_if_present(&segment.summary_path(&stream.dir))?;
        let path = segment.path(&stream.dir);
        let bytes = fs::read(&path)?;
        let (records, valid) = decode_all(&bytes);
        if valid < bytes.len() {
            tracing::warn!(file = %path.display(), cut = bytes.len() - valid, "cutting a torn log record");
            OpenOptions::new().write(true).open(&path)?.set_len(valid as u64)?;
        }
        if records.is_empty() {
            remove_if_present(&path)?;
            continue;
        }
        for r in &records {
            segment.add(r);
        }
        stream.segments.push_back(segment);
    }
    // The tail on disk is the truth for the sequence and the cursor (meta.json may be older).
    if let Some(last) = stream.segments.back() {
        let records = last.read(&stream.dir)?;
        if let Some(tail) = records.last() {
            let mut cursor = SourceCursor::default();
            for r in &records {
                cursor.advance(r.source_ns);
            }
            stream.cursor = cursor;
            stream.next_seq = stream.next_seq.max(tail.seq + 1);
            stream.last_ingestion = Some(tail.ingestion);
        }
        remove_if_present(&last.summary_path(&stream.dir))?;
        stream.writer = Some(OpenOptions::new().append(true).open(last.path(&stream.dir))?);
    }
    Ok(stream)
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
