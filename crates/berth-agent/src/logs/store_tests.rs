use super::*;

const G: &str = "/ecs/app";
const S: &str = "ecs/app/task-1";
const BIG: Limits = Limits { host_max_bytes: 1 << 30, stream_max_bytes: 100 << 20 };

fn open(dir: &Path, limits: Limits) -> LogStore {
    LogStore::open(dir, limits).unwrap()
}

/// `n` events numbered from `first`, one ms apart from `base`, each with its own Docker ns.
fn events(first: u64, n: u64, base: i64) -> Vec<NewEvent> {
    (first..first + n)
        .map(|i| NewEvent {
            timestamp: base + i as i64,
            source_ns: (base + i as i64) * 1_000_000,
            message: format!("line {i}"),
        })
        .collect()
}

fn get(store: &LogStore, token: Option<&str>, limit: u32, head: bool) -> GetEventsResponse {
    store
        .get_events(&GetEventsRequest {
            log_group_name: G.into(),
            log_stream_name: S.into(),
            next_token: token.map(str::to_owned),
            limit,
            start_from_head: head,
            ..Default::default()
        })
        .unwrap()
}

fn messages(r: &GetEventsResponse) -> Vec<String> {
    r.events.iter().map(|e| e.message.clone()).collect()
}

fn lines(range: std::ops::Range<u64>) -> Vec<String> {
    range.map(|i| format!("line {i}")).collect()
}

#[test]
fn forward_reading_pages_oldest_first_and_stops_on_the_same_token() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), BIG);
    let now = now_ms();
    store.append(G, S, events(0, 25, now)).unwrap();
    let first = get(&store, None, 10, true);
    assert_eq!(messages(&first), lines(0..10));
    let second = get(&store, Some(&first.next_forward_token), 10, true);
    assert_eq!(messages(&second), lines(10..20));
    let third = get(&store, Some(&second.next_forward_token), 10, true);
    assert_eq!(messages(&third), lines(20..25));
    let end = get(&store, Some(&third.next_forward_token), 10, true);
    assert!(end.events.is_empty());
    assert_eq!(end.next_forward_token, third.next_forward_token);
    // New events show up behind the same token.
    store.append(G, S, events(25, 2, now)).unwrap();
    let more = get(&store, Some(&end.next_forward_token), 10, true);
    assert_eq!(messages(&more), lines(25..27));
    // Backward from the second page gives the first.
    let back = get(&store, Some(&second.next_backward_token), 10, true);
    assert_eq!(messages(&back), lines(0..10));
}

#[test]
fn without_a_token_the_newest_come_first_and_backward_tokens_walk_to_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), BIG);
    store.append(G, S, events(0, 25, now_ms())).unwrap();
    let newest = get(&store, None, 10, false);
    assert_eq!(messages(&newest), lines(15..25));
    let older = get(&store, Some(&newest.next_backward_token), 10, false);
    assert_eq!(messages(&older), lines(5..15));
    let oldest = get(&store, Some(&older.next_backward_token), 10, false);
    assert_eq!(messages(&oldest), lines(0..5));
    let start = get(&store, Some(&oldest.next_backward_token), 10, false);
    assert!(start.events.is_empty());
    assert_eq!(start.next_backward_token, oldest.next_backward_token);
    // Forward from the newest page: nothing yet, the same token back.
    let next = get(&store, Some(&newest.next_forward_token), 10, false);
    assert!(next.events.is_empty());
    assert_eq!(next.next_forward_token, newest.next_forward_token);
    // Forward from an older page continues after it.
    let after = get(&store, Some(&older.next_forward_token), 100, false);
    assert_eq!(messages(&after), lines(15..25));
}

#[test]
fn tokens_of_other_streams_and_garbage_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), BIG);
    store.append(G, S, events(0, 3, now_ms())).unwrap();
    store.append(G, "other", events(0, 3, now_ms())).unwrap();
    let other = store
        .get_events(&GetEventsRequest {
            log_group_name: G.into(),
            log_stream_name: "other".into(),
            limit: 10,
            ..Default::default()
        })
        .unwrap();
    for token in
        [other.next_forward_token.as_str(), "garbage", "f/123/s", "x/00000000000000000000000000000000000000000/s"]
    {
        let err = store
            .get_events(&GetEventsRequest {
                log_group_name: G.into(),
                log_stream_name: S.into(),
                next_token: Some(token.into()),
                limit: 10,
                ..Default::default()
            })
            .unwrap_err();
        assert_eq!(err.code(), "InvalidParameterException");
        assert_eq!(err.to_string(), INVALID_TOKEN);
    }
    let missing = store
        .get_events(&GetEventsRequest {
            log_group_name: G.into(),
            log_stream_name: "nope".into(),
            limit: 10,
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!((missing.code(), missing.to_string().as_str()), ("ResourceNotFoundException", STREAM_NOT_FOUND));
    let group = store
        .filter_events(&FilterEventsRequest { log_group_name: "/nope".into(), limit: 10, ..Default::default() })
        .unwrap_err();
    assert_eq!(group.to_string(), GROUP_NOT_FOUND);
}

#[test]
fn time_windows_filter_events() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), BIG);
    let now = now_ms();
    store.append(G, S, events(0, 10, now)).unwrap();
    let r = store
        .get_events(&GetEventsRequest {
            log_group_name: G.into(),
            log_stream_name: S.into(),
            start_time: Some(now + 3),
            end_time: Some(now + 6),
            start_from_head: true,
            limit: 100,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(messages(&r), lines(3..6));
}

#[test]
fn reopening_keeps_events_order_tokens_and_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits { host_max_bytes: 1 << 30, stream_max_bytes: 64 * 1024 };
    let now = now_ms();
    let same_ns = (now + 999) * 1_000_000;
    let (token, cursor) = {
        let store = open(dir.path(), limits);
        store.append(G, S, events(0, 500, now)).unwrap();
        // Two lines carrying the same Docker timestamp at the end.
        store.append(G, S, vec![NewEvent { timestamp: now + 999, source_ns: same_ns, message: "a".into() }]).unwrap();
        store.append(G, S, vec![NewEvent { timestamp: now + 999, source_ns: same_ns, message: "b".into() }]).unwrap();
        let r = get(&store, None, 10_000, true);
        assert_eq!(r.events.len(), 502);
        (r.next_forward_token, store.cursor(G, S).unwrap())
    };
    assert_eq!(cursor, SourceCursor { ns: same_ns, count: 2 });
    let store = open(dir.path(), limits);
    assert_eq!(store.cursor(G, S), Some(cursor));
    let r = get(&store, None, 10_000, true);
    let mut expected = lines(0..500);
    expected.extend(["a".to_owned(), "b".to_owned()]);
    assert_eq!(messages(&r), expected);
    // The old token still works, and new events follow in order.
    store.append(G, S, events(500, 3, now + 1000)).unwrap();
    let next = get(&store, Some(&token), 100, true);
    assert_eq!(messages(&next), lines(500..503));
}

#[test]
fn a_torn_last_record_is_cut_on_open() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path(), BIG);
        store.append(G, S, events(0, 3, now_ms())).unwrap();
    }
    let stream_dir = dir.path().join(dir_name(G)).join(dir_name(S));
    let seg = stream_dir.join(format!("{:020}.seg", 0));
    let mut f = OpenOptions::new().append(true).open(&seg).unwrap();
    f.write_all(&[200, 0, 0, 0, 1, 2, 3]).unwrap();
    drop(f);
    let store = open(dir.path(), BIG);
    store.append(G, S, events(3, 1, now_ms())).unwrap();
    assert_eq!(messages(&get(&store, None, 100, true)), lines(0..4));
}

#[test]
fn stream_and_host_caps_drop_the_oldest_segments() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits { host_max_bytes: 256 * 1024, stream_max_bytes: 64 * 1024 };
    let store = open(dir.path(), limits);
    let now = now_ms();
    for i in 0..40 {
        store.append(G, S, events(i * 100, 100, now)).unwrap();
    }
    let r = get(&store, None, 10_000, true);
    let first: u64 = r.events[0].message.trim_start_matches("line ").parse().unwrap();
    assert!(first > 0, "the oldest events are gone");
    assert_eq!(messages(&r), lines(first..4000), "what is left is the newest, in order");
    let info = store.describe_streams(&DescribeStreamsRequest { log_group_name: G.into(), ..Default::default() });
    let bytes = info.unwrap().log_streams[0].stored_bytes;
    assert!(bytes <= 64 * 1024 && bytes > 32 * 1024, "{bytes}");
    // Host cap: streams written later push out the oldest segments of the first.
    for s in 0..6 {
        let name = format!("s{s}");
        for i in 0..10 {
            store.append(G, &name, events(i * 100, 100, now)).unwrap();
        }
    }
    assert!(store.total_bytes() <= 256 * 1024);
    let newest = store.describe_streams(&DescribeStreamsRequest { log_group_name: G.into(), ..Default::default() });
    let s5 = newest.unwrap().log_streams.into_iter().find(|s| s.log_stream_name == "s5").unwrap();
    assert!(s5.stored_bytes > 0);
    let first_stream = store
        .describe_streams(&DescribeStreamsRequest { log_group_name: G.into(), log_stream_name_prefix: Some(S.into()) });
    assert_eq!(first_stream.unwrap().log_streams[0].stored_bytes, 0, "the oldest stream went first");
}

#[test]
fn retention_hides_and_drops_old_events() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits { host_max_bytes: 1 << 30, stream_max_bytes: 64 * 1024 };
    let store = open(dir.path(), limits);
    let old = now_ms() - 3 * MS_PER_DAY;
    store.append(G, S, events(0, 2000, old)).unwrap();
    store.append(G, S, events(2000, 5, now_ms())).unwrap();
    let before = store.total_bytes();
    store.put_retention(&PutRetentionRequest { log_group_name: G.into(), retention_in_days: Some(1) }).unwrap();
    assert!(store.total_bytes() < before, "expired segments are dropped");
    // The server sends the group's retention with every read; the events of the last day remain.
    let read = |store: &LogStore, days: Option<u32>| {
        let req = GetEventsRequest {
            log_group_name: G.into(),
            log_stream_name: S.into(),
            limit: 10_000,
            start_from_head: true,
            retention_in_days: days,
            ..Default::default()
        };
        store.get_events(&req).unwrap()
    };
    assert_eq!(messages(&read(&store, Some(1))), lines(2000..2005));
    let filtered = store
        .filter_events(&FilterEventsRequest {
            log_group_name: G.into(),
            limit: 10_000,
            retention_in_days: Some(1),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(filtered.events.len(), 5);
    // The retention survives a reopen.
    drop(store);
    let store = open(dir.path(), limits);
    store.sweep().unwrap();
    assert_eq!(read(&store, Some(1)).events.len(), 5);
    // A read is the server's word: a retention cleared while this host was away (DeleteRetentionPolicy) is cleared
    // here too, so old events still on disk are shown again.
    store.append(G, S, events(3000, 5, old)).unwrap();
    let all = messages(&read(&store, None));
    assert!(all.len() > 10, "events the retention hid are back: {}", all.len());
    assert!(all.ends_with(&lines(3000..3005)));
}

#[test]
fn filter_merges_streams_by_time_and_id_and_pages_after_a_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), BIG);
    let now = now_ms();
    let ev = |ts: i64, m: &str| NewEvent { timestamp: now + ts, source_ns: (now + ts) * 1_000_000, message: m.into() };
    store.append(G, "a", vec![ev(1, "ERROR one"), ev(3, "INFO three"), ev(5, "ERROR five")]).unwrap();
    store.append(G, "b", vec![ev(2, "ERROR two"), ev(3, "ERROR three b"), ev(4, "WARN four")]).unwrap();
    store.append("/other", "a", vec![ev(1, "ERROR elsewhere")]).unwrap();
    let req = |pattern: &str, after: Option<EventCursor>, limit: u32| FilterEventsRequest {
        log_group_name: G.into(),
        filter_pattern: Some(pattern.into()),
        after,
        limit,
        ..Default::default()
    };
    let all = store.filter_events(&req("", None, 100)).unwrap();
    let ts: Vec<i64> = all.events.iter().map(|e| e.timestamp - now).collect();
    assert_eq!(ts, vec![1, 2, 3, 3, 4, 5]);
    assert!(!all.more);
    let ids: std::collections::HashSet<&str> = all.events.iter().map(|e| e.event_id.as_str()).collect();
    assert_eq!(ids.len(), 6, "event ids are unique in the group");
    let errors = store.filter_events(&req("ERROR", None, 2)).unwrap();
    let msgs: Vec<&str> = errors.events.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(msgs, vec!["ERROR one", "ERROR two"]);
    assert!(errors.more);
    let last = errors.events.last().unwrap();
    let cursor = EventCursor { timestamp: last.timestamp, event_id: last.event_id.clone() };
    let rest = store.filter_events(&req("ERROR", Some(cursor), 10)).unwrap();
    let msgs: Vec<&str> = rest.events.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(msgs, vec!["ERROR three b", "ERROR five"]);
    assert!(!rest.more);
    // Ids are stable across reads.
    let again = store.filter_events(&req("", None, 100)).unwrap();
    assert_eq!(again.events, all.events);
    let only_b = FilterEventsRequest { log_stream_names: Some(vec!["b".into()]), ..req("?WARN ?two", None, 10) };
    assert_eq!(store.filter_events(&only_b).unwrap().events.len(), 2);
    let bad = store.filter_events(&req("{ $.x = 1 }", None, 10)).unwrap_err();
    assert_eq!(bad.code(), "InvalidParameterException");
    assert!(bad.to_string().contains("filterPattern"));
}

#[test]
fn describe_reports_sizes_and_times_and_delete_removes_the_group() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), BIG);
    let now = now_ms();
    store.ensure_stream(G, "empty").unwrap();
    store.append(G, S, events(0, 3, now)).unwrap();
    let r = store.describe_streams(&DescribeStreamsRequest { log_group_name: G.into(), ..Default::default() }).unwrap();
    assert_eq!(r.log_streams.len(), 2);
    let s = r.log_streams.iter().find(|s| s.log_stream_name == S).unwrap();
    assert_eq!((s.first_event_timestamp, s.last_event_timestamp), (Some(now), Some(now + 2)));
    assert!(s.stored_bytes > 0 && s.last_ingestion_time.is_some());
    let e = r.log_streams.iter().find(|s| s.log_stream_name == "empty").unwrap();
    assert_eq!((e.first_event_timestamp, e.stored_bytes), (None, 0));
    store.delete_group(G).unwrap();
    assert!(
        store.describe_streams(&DescribeStreamsRequest { log_group_name: G.into(), ..Default::default() }).is_err()
    );
    drop(store);
    let store = open(dir.path(), BIG);
    assert!(store.cursor(G, S).is_none(), "deleted for good");
    store.delete_group("/never").unwrap();
}

#[test]
fn odd_names_are_stored_safely() {
    let dir = tempfile::tempdir().unwrap();
    let names = ["../../etc", "a/b/c", ".", "x".repeat(600).as_str().to_owned().leak() as &str, "ünï cödé"];
    {
        let store = open(dir.path(), BIG);
        for n in names {
            store.append(n, n, events(0, 1, now_ms())).unwrap();
        }
    }
    let store = open(dir.path(), BIG);
    for n in names {
        assert!(store.cursor(n, n).is_some(), "{n}");
    }
    assert!(dir.path().join(dir_name("../../etc")).is_dir());
}

#[test]
fn filter_pages_through_many_streams_in_order_without_gaps_or_repeats() {
    let dir = tempfile::tempdir().unwrap();
    // Small segments, so the bound on what is read (skipping segments that start after the best matches) matters.
    let store = open(dir.path(), Limits { host_max_bytes: 1 << 30, stream_max_bytes: 64 * 1024 });
    let now = now_ms();
    for s in 0..20i64 {
        let batch = (0..50i64)
            .map(|i| {
                let ts = now + i * 20 + s;
                NewEvent { timestamp: ts, source_ns: ts * 1_000_000, message: format!("s{s} i{i} {}", "x".repeat(200)) }
            })
            .collect();
        store.append(G, &format!("s{s}"), batch).unwrap();
    }
    let mut seen: Vec<EventCursor> = Vec::new();
    let mut after = None;
    loop {
        let req =
            FilterEventsRequest { log_group_name: G.into(), after: after.clone(), limit: 7, ..Default::default() };
        let page = store.filter_events(&req).unwrap();
        for e in &page.events {
            seen.push(EventCursor { timestamp: e.timestamp, event_id: e.event_id.clone() });
        }
        if !page.more {
            break;
        }
        after = seen.last().cloned();
    }
    assert_eq!(seen.len(), 1000, "every event once");
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "in (timestamp, eventId) order");
}
