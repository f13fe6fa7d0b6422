//! Tests of the whole query language: parsing and evaluation together.

use super::*;

/// 2018-06-18T22:28:28Z.
const REGISTERED: f64 = 1_529_360_908.0;

/// A container instance as the tests see it.
#[derive(Clone, Debug)]
struct TestInstance {
    attributes: Vec<(&'static str, Option<&'static str>)>,
    connected: bool,
    version: Option<&'static str>,
    ec2: Option<&'static str>,
    registered: Option<f64>,
    running: i64,
    groups: Vec<&'static str>,
}

impl TestInstance {
    /// A t2.small in us-east-1a running one `service:production` task.
    fn new() -> Self {
        TestInstance {
            attributes: vec![
                ("ecs.instance-type", Some("t2.small")),
                ("ecs.availability-zone", Some("us-east-1a")),
                ("ecs.os-type", Some("linux")),
                ("cores", Some("16")),
                ("ecs.capability.privileged-container", None),
            ],
            connected: true,
            version: Some("1.14.0"),
            ec2: Some("i-abcd1234"),
            registered: Some(REGISTERED),
            running: 1,
            groups: vec!["service:production"],
        }
    }

    fn attr(mut self, name: &'static str, value: Option<&'static str>) -> Self {
        self.attributes.retain(|(n, _)| *n != name);
        self.attributes.push((name, value));
        self
    }

    fn without_attr(mut self, name: &str) -> Self {
        self.attributes.retain(|(n, _)| *n != name);
        self
    }

    fn groups(mut self, groups: &[&'static str]) -> Self {
        self.groups = groups.to_vec();
        self
    }
}

impl Candidate for TestInstance {
    fn attribute(&self, name: &str) -> Option<Option<&str>> {
        self.attributes.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }
    fn agent_connected(&self) -> bool {
        self.connected
    }
    fn agent_version(&self) -> Option<&str> {
        self.version
    }
    fn ec2_instance_id(&self) -> Option<&str> {
        self.ec2
    }
    fn registered_at(&self) -> Option<f64> {
        self.registered
    }
    fn running_tasks_count(&self) -> i64 {
        self.running
    }
    fn task_groups(&self) -> Vec<&str> {
        self.groups.clone()
    }
}

fn expr(text: &str) -> Expr {
    parse(text).unwrap_or_else(|e| panic!("{text:?} did not parse: {e}"))
}

fn eval(text: &str, instance: &TestInstance) -> bool {
    expr(text).matches(instance)
}

fn error(text: &str) -> QueryError {
    match parse(text) {
        Ok(e) => panic!("{text:?} parsed as {e:?}"),
        Err(e) => e,
    }
}

/// Checks each `(expression, expected)` row against `instance`.
fn check(instance: &TestInstance, table: &[(&str, bool)]) {
    for &(text, expected) in table {
        assert_eq!(eval(text, instance), expected, "{text:?} on {instance:?}");
    }
}

#[test]
fn query_doc_examples() {
    let t2_small = TestInstance::new();
    let g2 = TestInstance::new().attr("ecs.instance-type", Some("g2.2xlarge"));
    let g2_in_d = g2.clone().attr("ecs.availability-zone", Some("us-east-1d"));
    let with_database = TestInstance::new().groups(&["database", "service:web"]);
    let old_agent = TestInstance { version: Some("1.9.0"), ..TestInstance::new() };
    let windows = TestInstance::new().attr("ecs.os-type", Some("windows"));
    let idle = TestInstance { running: 0, groups: vec![], ..TestInstance::new() };
    let other_id = TestInstance { ec2: Some("i-0000"), ..TestInstance::new() };
    let early = TestInstance { registered: Some(1_518_480_000.0 - 1.0), ..TestInstance::new() };

    // (expression, instance, expected)
    let table: &[(&str, &TestInstance, bool)] = &[
        ("attribute:ecs.instance-type == t2.small", &t2_small, true),
        ("attribute:ecs.instance-type == t2.small", &g2, false),
        ("attribute:ecs.instance-type =~ g2.* and attribute:ecs.availability-zone != us-east-1d", &g2, true),
        ("attribute:ecs.instance-type =~ g2.* and attribute:ecs.availability-zone != us-east-1d", &g2_in_d, false),
        ("attribute:ecs.instance-type =~ g2.* and attribute:ecs.availability-zone != us-east-1d", &t2_small, false),
        ("attribute:ecs.instance-type in [t2.small, t2.medium]", &t2_small, true),
        ("attribute:ecs.instance-type in [t2.small, t2.medium]", &g2, false),
        ("attribute:ecs.availability-zone in [us-east-1a, us-east-1b]", &t2_small, true),
        ("attribute:ecs.availability-zone in [us-east-1a, us-east-1b]", &g2_in_d, false),
        ("not(task:group == database)", &t2_small, true),
        ("not(task:group == database)", &with_database, false),
        ("task:group == service:production", &t2_small, true),
        ("task:group == service:production", &with_database, false),
        ("agentVersion < 1.14.5", &t2_small, true),
        ("agentVersion < 1.14.5", &old_agent, true),
        ("agentVersion < 1.14.5", &TestInstance { version: Some("1.20.0"), ..TestInstance::new() }, false),
        ("ec2InstanceId in ['i-abcd1234', 'i-wxyx7890']", &t2_small, true),
        ("ec2InstanceId in ['i-abcd1234', 'i-wxyx7890']", &other_id, false),
        ("registeredAt < 2018-06-18T00:00:00", &t2_small, false),
        ("registeredAt < 2018-06-18T00:00:00", &early, true),
        ("registeredAt < 2018-02-13", &early, true),
        ("registeredAt < 2018-02-13", &t2_small, false),
        ("runningTasksCount == 1", &t2_small, true),
        ("runningTasksCount == 1", &idle, false),
        ("attribute:ecs.os-type == linux", &t2_small, true),
        ("attribute:ecs.os-type == linux", &windows, false),
        ("attribute:ecs.instance-type exists", &t2_small, true),
        ("attribute:stack exists", &t2_small, false),
        ("attribute:stack !exists", &t2_small, true),
        ("attribute:stack exists", &TestInstance::new().attr("stack", Some("prod")), true),
        (
            "(attribute:ecs.os-type == windows || attribute:ecs.instance-type == t2.small) && !runningTasksCount > 3",
            &t2_small,
            true,
        ),
        (
            "(attribute:ecs.os-type == windows || attribute:ecs.instance-type == t2.small) && !runningTasksCount > 0",
            &t2_small,
            false,
        ),
        (
            "(attribute:ecs.os-type == windows || attribute:ecs.instance-type == g2.2xlarge) && !runningTasksCount > 3",
            &t2_small,
            false,
        ),
    ];
    for &(text, instance, expected) in table {
        assert_eq!(eval(text, instance), expected, "{text:?} on {instance:?}");
    }
}

#[test]
fn query_operators_and_word_aliases_agree() {
    let instances = [
        TestInstance::new(),
        TestInstance::new().attr("ecs.instance-type", Some("g2.2xlarge")),
        TestInstance::new().without_attr("ecs.instance-type"),
        TestInstance::new().attr("ecs.instance-type", None),
    ];
    // (symbolic form, word form, result on the first instance)
    let pairs: &[(&str, &str, bool)] = &[
        ("attribute:ecs.instance-type == t2.small", "attribute:ecs.instance-type equals t2.small", true),
        ("attribute:ecs.instance-type != t2.small", "attribute:ecs.instance-type not_equals t2.small", false),
        ("attribute:ecs.instance-type > t2.medium", "attribute:ecs.instance-type greater_than t2.medium", true),
        ("attribute:ecs.instance-type >= t2.small", "attribute:ecs.instance-type greater_than_equal t2.small", true),
        ("attribute:ecs.instance-type < t2.small", "attribute:ecs.instance-type less_than t2.small", false),
        ("attribute:ecs.instance-type <= t2.small", "attribute:ecs.instance-type less_than_equal t2.small", true),
        ("attribute:ecs.instance-type !exists", "attribute:ecs.instance-type not_exists", false),
        ("attribute:ecs.instance-type in [t2.small]", "attribute:ecs.instance-type in (t2.small)", true),
        ("attribute:ecs.instance-type !in [t2.small]", "attribute:ecs.instance-type not_in [t2.small]", false),
        ("attribute:ecs.instance-type =~ t2.*", "attribute:ecs.instance-type matches t2.*", true),
        ("attribute:ecs.instance-type !~ t2.*", "attribute:ecs.instance-type not_matches t2.*", false),
        ("attribute:cores > 8 && attribute:cores < 20", "attribute:cores > 8 and attribute:cores < 20", true),
        ("attribute:cores > 20 || attribute:cores == 16", "attribute:cores > 20 or attribute:cores == 16", true),
        ("!attribute:cores == 16", "not attribute:cores == 16", false),
    ];
    for &(symbolic, word, expected) in pairs {
        assert_eq!(eval(symbolic, &instances[0]), expected, "{symbolic:?}");
        for instance in &instances {
            assert_eq!(eval(symbolic, instance), eval(word, instance), "{symbolic:?} vs {word:?} on {instance:?}");
        }
    }
}

#[test]
fn query_word_operators_are_case_insensitive() {
    let instance = TestInstance::new();
    check(
        &instance,
        &[
            ("attribute:ecs.os-type EQUALS linux", true),
            ("attribute:ecs.os-type Not_Equals linux", false),
            ("attribute:ecs.os-type IN [linux] AND runningTasksCount GREATER_THAN 0", true),
            ("NOT attribute:ecs.os-type == linux OR runningTasksCount == 1", true),
            ("Not(attribute:ecs.os-type MATCHES lin.*)", false),
            ("attribute:stack NOT_EXISTS", true),
            ("attribute:ecs.os-type !EXISTS", false),
            ("attribute:ecs.os-type !IN [windows]", true),
        ],
    );
}

#[test]
fn query_each_subject() {
    let instance = TestInstance::new();
    let disconnected = TestInstance { connected: false, ..TestInstance::new() };
    check(
        &instance,
        &[
            ("agentConnected == true", true),
            ("agentConnected == TRUE", true),
            ("agentConnected != true", false),
            ("agentConnected in [false]", false),
            ("agentConnected not_in [false]", true),
            ("agentConnected =~ t.*", true),
            ("agentConnected !~ t.*", false),
            ("agentVersion == 1.14.0", true),
            ("agentVersion == 1.14", true),
            ("agentVersion != 1.14.0", false),
            ("agentVersion > 1.9.9", true),
            ("agentVersion >= 1.14.0", true),
            ("agentVersion <= 1.13.99", false),
            ("ec2InstanceId == i-abcd1234", true),
            ("ec2InstanceId != i-abcd1234", false),
            ("ec2InstanceId =~ 'i-[0-9a-f]{8}'", true),
            ("ec2InstanceId !in [i-1, i-2]", true),
            ("registeredAt == 2018-06-18T22:28:28Z", true),
            ("registeredAt != 2018-06-18T22:28:28+00:00", false),
            ("registeredAt > 2018-06-18", true),
            ("registeredAt >= 2018-06-18T22:28:28", true),
            ("registeredAt > 2018-06-18T22:28:28", false),
            ("registeredAt < 2018-06-18T23:28:28+01:00", false),
            ("registeredAt < 2018-06-18T23:28:29+01:00", true),
            ("registeredAt <= 2018-06-19", true),
            ("runningTasksCount == 1", true),
            ("runningTasksCount != 1", false),
            ("runningTasksCount > 0", true),
            ("runningTasksCount >= 2", false),
            ("runningTasksCount < 2", true),
            ("runningTasksCount <= 0", false),
            ("runningTasksCount > -1", true),
            ("task:group == service:production", true),
            ("task:group exists", true),
            ("task:group !exists", false),
            ("attribute:ecs.availability-zone == us-east-1a", true),
        ],
    );
    check(&disconnected, &[("agentConnected == false", true), ("agentConnected == true", false)]);
}

#[test]
fn query_attribute_ordering_is_numeric_when_both_sides_are_numbers() {
    let instance = TestInstance::new().attr("cores", Some("16")).attr("gen", Some("b"));
    check(
        &instance,
        &[
            // Lexicographically "16" < "8"; numerically it is not.
            ("attribute:cores > 8", true),
            ("attribute:cores < 8", false),
            ("attribute:cores >= 16.0", true),
            ("attribute:cores == 16.0", false), // equality is string equality, as ECS documents
            ("attribute:cores < abc", true),    // "16" < "abc" as strings
            ("attribute:gen > a", true),
            ("attribute:gen < c", true),
            ("attribute:gen > 1", true), // "b" > "1" as strings
        ],
    );
}

#[test]
fn query_absent_values() {
    let bare = TestInstance {
        attributes: vec![("flag", None)],
        version: None,
        ec2: None,
        registered: None,
        groups: vec![],
        running: 0,
        connected: false,
    };
    check(
        &bare,
        &[
            // Absent attribute: positive operators false, negations true.
            ("attribute:stack == x", false),
            ("attribute:stack in [x, y]", false),
            ("attribute:stack =~ .*", false),
            ("attribute:stack > 1", false),
            ("attribute:stack >= a", false),
            ("attribute:stack < 1", false),
            ("attribute:stack <= z", false),
            ("attribute:stack != x", true),
            ("attribute:stack !in [x]", true),
            ("attribute:stack !~ .*", true),
            ("attribute:stack exists", false),
            ("attribute:stack !exists", true),
            // Present without a value: it exists, but there is no value to compare.
            ("attribute:flag exists", true),
            ("attribute:flag !exists", false),
            ("attribute:flag == x", false),
            ("attribute:flag != x", true),
            ("attribute:flag =~ .*", false),
            // Absent instance fields behave the same way.
            ("agentVersion < 99", false),
            ("agentVersion == 1.0", false),
            ("agentVersion != 1.0", true),
            ("ec2InstanceId == i-1", false),
            ("ec2InstanceId != i-1", true),
            ("ec2InstanceId in [i-1]", false),
            ("ec2InstanceId not_in [i-1]", true),
            ("ec2InstanceId =~ .*", false),
            ("ec2InstanceId !~ .*", true),
            ("registeredAt < 2100-01-01", false),
            ("registeredAt != 2100-01-01", true),
            // No tasks: no group matches, so every negation holds.
            ("task:group == web", false),
            ("task:group != web", true),
            ("task:group in [web]", false),
            ("task:group !in [web]", true),
            ("task:group =~ .*", false),
            ("task:group !~ .*", true),
            ("task:group exists", false),
            ("task:group !exists", true),
        ],
    );
}

#[test]
fn query_task_group_any_and_none() {
    let instance = TestInstance::new().groups(&["service:web", "family:batch", "service:web"]);
    check(
        &instance,
        &[
            ("task:group == service:web", true),
            ("task:group == family:batch", true),
            ("task:group == service:api", false),
            // `!=` holds only when no task is in the group.
            ("task:group != service:web", false),
            ("task:group != service:api", true),
            ("task:group in [service:api, family:batch]", true),
            ("task:group in [service:api, service:db]", false),
            ("task:group !in [service:api, family:batch]", false),
            ("task:group !in [service:api, service:db]", true),
            ("task:group =~ family:.*", true),
            ("task:group =~ service:a.*", false),
            ("task:group !~ service:.*", false),
            ("task:group !~ daemon:.*", true),
            ("not(task:group == service:web)", false),
            ("not(task:group == service:api)", true),
        ],
    );
}

#[test]
fn query_precedence_and_parentheses() {
    // Three conditions with known truth values on the test instance.
    let t = "runningTasksCount == 1";
    let f = "runningTasksCount == 5";
    let instance = TestInstance::new();
    let table: Vec<(String, bool)> = vec![
        // not binds tighter than and, and tighter than or.
        (format!("{f} or {t} and {f}"), false),
        (format!("({f} or {t}) and {f}"), false),
        (format!("{t} or {f} and {f}"), true),
        (format!("({t} or {f}) and {f}"), false),
        (format!("{f} && {f} || {t}"), true),
        (format!("{f} && ({f} || {t})"), false),
        (format!("not {t} and {f}"), false),
        (format!("not ({t} and {f})"), true),
        (format!("! {f} && {t}"), true),
        (format!("!{f} || {f}"), true),
        (format!("!!{t}"), true),
        (format!("not not not {t}"), false),
        (format!("not({f}) and not({f})"), true),
        (format!("(({t}))"), true),
        (format!("((({t}) and ({f} or ({t}))))"), true),
        (format!("{f} or {f} or {f} or {t}"), true),
        (format!("{t} and {t} and {t} and {f}"), false),
    ];
    for (text, expected) in table {
        assert_eq!(eval(&text, &instance), expected, "{text}");
    }
}

#[test]
fn query_quoting() {
    let instance = TestInstance::new().attr("team", Some("it's ours")).attr("note", Some("a \"b\""));
    check(
        &instance,
        &[
            ("ec2InstanceId == 'i-abcd1234'", true),
            ("ec2InstanceId == \"i-abcd1234\"", true),
            ("attribute:team == \"it's ours\"", true),
            ("attribute:note == 'a \"b\"'", true),
            ("ec2InstanceId in ['i-abcd1234', \"i-x\", i-y]", true),
            // A quoted word is always a literal, even when spelled like a keyword.
            ("attribute:team != 'and'", true),
            ("attribute:ecs.instance-type =~ 't2\\.(small|medium)'", true),
            ("attribute:ecs.instance-type =~ \"t2 small|t2.small\"", true),
            // Bare words spelled like keywords are literals in argument position too.
            ("attribute:ecs.instance-type != and", true),
            ("attribute:ecs.instance-type == ''", false),
        ],
    );
    let empty = TestInstance::new().attr("x", Some(""));
    check(&empty, &[("attribute:x == ''", true), ("attribute:x == \"\"", true)]);
}

#[test]
fn query_whitespace_is_free() {
    let instance = TestInstance::new();
    check(
        &instance,
        &[
            ("  runningTasksCount==1  ", true),
            ("runningTasksCount>=1&&runningTasksCount<=1", true),
            ("\trunningTasksCount\n==\n1", true),
            ("attribute:ecs.instance-type in[t2.small,t2.medium]", true),
            ("attribute:ecs.instance-type in [ t2.small , t2.medium ]", true),
            ("not(runningTasksCount==2)", true),
            ("!(runningTasksCount==1)||runningTasksCount==1", true),
        ],
    );
}

#[test]
fn query_registered_at_formats() {
    let instance = TestInstance::new();
    for date in
        ["2018-06-18T22:28:28+00:00", "2018-06-18T22:28:28Z", "2018-06-18T22:28:28", "2018-06-19T00:28:28+02:00"]
    {
        assert!(eval(&format!("registeredAt == {date}"), &instance), "{date}");
    }
    for (date, seconds) in [
        ("2018-06-18", 1_529_280_000.0),
        ("2018-06-18T00:00:00", 1_529_280_000.0),
        ("2018-06-18T22:28:28.5Z", REGISTERED + 0.5),
        ("1969-12-31T23:59:59Z", -1.0),
    ] {
        assert_eq!(parser::parse_time(date), Some(seconds), "{date}");
    }
}

#[test]
fn query_unparsable_agent_versions_fail_ordered_comparisons() {
    let odd = TestInstance { version: Some("unknown"), ..TestInstance::new() };
    check(&odd, &[("agentVersion < 9", false), ("agentVersion > 0", false), ("agentVersion != 1", true)]);
    let dev = TestInstance { version: Some("1.14.5-dev"), ..TestInstance::new() };
    check(&dev, &[("agentVersion == 1.14.5", true), ("agentVersion < 1.14.6", true)]);
}

/// An expression, a check of the error it gives, and a part its message must contain.
type ErrorCase = (String, fn(&QueryError) -> bool, &'static str);

#[test]
fn query_errors() {
    use QueryError as E;
    let cases: Vec<ErrorCase> = vec![
        ("".into(), |e| matches!(e, E::Empty), "empty"),
        ("   \t ".into(), |e| matches!(e, E::Empty), "empty"),
        (
            "foo == 1".into(),
            |e| matches!(e, E::UnknownSubject { subject, position: 0 } if subject == "foo"),
            "unknown subject 'foo' at 0",
        ),
        ("agentversion == 1".into(), |e| matches!(e, E::UnknownSubject { .. }), "'agentversion'"),
        (
            "'attribute:x' exists".into(),
            |e| matches!(e, E::UnexpectedToken { position: 0, .. }),
            "expected a condition",
        ),
        ("attribute: exists".into(), |e| matches!(e, E::InvalidAttributeName { position: 10, .. }), "empty"),
        ("attribute:a@b exists".into(), |e| matches!(e, E::InvalidAttributeName { .. }), "'a@b'"),
        (format!("attribute:{} exists", "a".repeat(129)), |e| matches!(e, E::InvalidAttributeName { .. }), "128"),
        ("runningTasksCount".into(), |e| matches!(e, E::UnexpectedEnd { .. }), "expected an operator"),
        (
            "runningTasksCount is 1".into(),
            |e| matches!(e, E::UnexpectedToken { position: 18, .. }),
            "unexpected token 'is' at 18",
        ),
        (
            "runningTasksCount ==".into(),
            |e| matches!(e, E::MissingArgument { position: 18, .. }),
            "operator '==' at 18 needs an argument",
        ),
        ("(runningTasksCount ==)".into(), |e| matches!(e, E::MissingArgument { .. }), "needs an argument"),
        (
            "runningTasksCount == && agentConnected == true".into(),
            |e| matches!(e, E::MissingArgument { .. }),
            "needs an argument",
        ),
        ("attribute:x in".into(), |e| matches!(e, E::MissingArgument { .. }), "'in'"),
        ("attribute:x in x".into(), |e| matches!(e, E::UnexpectedToken { .. }), "argument list"),
        ("attribute:x in []".into(), |e| matches!(e, E::UnexpectedToken { .. }), "unexpected token ']'"),
        ("attribute:x in [a, b".into(), |e| matches!(e, E::UnexpectedEnd { .. }), "',' or ']'"),
        ("attribute:x in [a, b)".into(), |e| matches!(e, E::UnexpectedToken { .. }), "',' or ']'"),
        ("attribute:x in [a,]".into(), |e| matches!(e, E::UnexpectedToken { .. }), "a value"),
        ("attribute:x == [a]".into(), |e| matches!(e, E::UnexpectedToken { .. }), "single value"),
        (
            "(runningTasksCount == 1".into(),
            |e| matches!(e, E::UnclosedParen { position: 0 }),
            "'(' at 0 is never closed",
        ),
        ("((runningTasksCount == 1)".into(), |e| matches!(e, E::UnclosedParen { position: 0 }), "unbalanced"),
        ("runningTasksCount == 1)".into(), |e| matches!(e, E::UnmatchedParen { position: 22 }), "')' at 22"),
        ("not(runningTasksCount == 1))".into(), |e| matches!(e, E::UnmatchedParen { .. }), "unbalanced"),
        ("()".into(), |e| matches!(e, E::UnexpectedToken { position: 1, .. }), "unexpected token ')' at 1"),
        (
            "runningTasksCount == 1 runningTasksCount == 2".into(),
            |e| matches!(e, E::UnexpectedToken { position: 23, .. }),
            "expected 'and', 'or'",
        ),
        ("attribute:x exists y".into(), |e| matches!(e, E::UnexpectedToken { .. }), "'y'"),
        ("(attribute:x exists y)".into(), |e| matches!(e, E::UnexpectedToken { .. }), "expected ')'"),
        ("runningTasksCount == 1 and".into(), |e| matches!(e, E::UnexpectedEnd { .. }), "expected a condition"),
        ("and runningTasksCount == 1".into(), |e| matches!(e, E::UnexpectedToken { position: 0, .. }), "'and'"),
        (
            "runningTasksCount == 1 and and runningTasksCount == 1".into(),
            |e| matches!(e, E::UnexpectedToken { .. }),
            "'and'",
        ),
        ("not".into(), |e| matches!(e, E::UnexpectedEnd { .. }), "expected a condition"),
        (
            "runningTasksCount == one".into(),
            |e| matches!(e, E::InvalidValue { position: 21, .. }),
            "'one' at 21 is not a whole number for runningTasksCount",
        ),
        ("runningTasksCount > 1.5".into(), |e| matches!(e, E::InvalidValue { .. }), "whole number"),
        ("registeredAt < yesterday".into(), |e| matches!(e, E::InvalidValue { .. }), "is not a date"),
        ("registeredAt < 2018-13-01".into(), |e| matches!(e, E::InvalidValue { .. }), "registeredAt"),
        ("agentConnected == yes".into(), |e| matches!(e, E::InvalidValue { .. }), "true or false"),
        ("agentConnected in [true, maybe]".into(), |e| matches!(e, E::InvalidValue { position: 25, .. }), "'maybe'"),
        ("agentVersion < latest".into(), |e| matches!(e, E::InvalidValue { .. }), "a version"),
        (
            "ec2InstanceId > i-1".into(),
            |e| matches!(e, E::UnsupportedOperator { .. }),
            "operator '>' at 14 cannot be used with ec2InstanceId",
        ),
        (
            "runningTasksCount in [1]".into(),
            |e| matches!(e, E::UnsupportedOperator { .. }),
            "cannot be used with runningTasksCount",
        ),
        ("agentVersion =~ 1.*".into(), |e| matches!(e, E::UnsupportedOperator { .. }), "agentVersion"),
        ("agentConnected exists".into(), |e| matches!(e, E::UnsupportedOperator { .. }), "'exists'"),
        ("task:group > a".into(), |e| matches!(e, E::UnsupportedOperator { .. }), "task:group"),
        ("attribute:x =~ 'a*+'".into(), |e| matches!(e, E::InvalidRegex { position: 15, .. }), "possessive"),
        ("attribute:x =~ 'a)'".into(), |e| matches!(e, E::InvalidRegex { .. }), "invalid regular expression 'a)'"),
        ("attribute:x == 'open".into(), |e| matches!(e, E::UnterminatedQuote { position: 15 }), "unterminated"),
        (format!("attribute:x == {}", "a".repeat(2000)), |e| matches!(e, E::TooLong { .. }), "at most 2000"),
        (
            format!("{}runningTasksCount == 1{}", "(".repeat(100), ")".repeat(100)),
            |e| matches!(e, E::TooDeep { .. }),
            "nesting",
        ),
        (format!("{}runningTasksCount == 1", "!".repeat(100)), |e| matches!(e, E::TooDeep { .. }), "nesting"),
    ];
    for (text, is_expected, message_part) in cases {
        let e = error(&text);
        assert!(is_expected(&e), "{text:?} gave {e:?}");
        let message = e.to_string();
        assert!(message.starts_with("Invalid filter expression: "), "{message}");
        assert!(message.contains(message_part), "{text:?}: {message:?} lacks {message_part:?}");
        assert!(!message.contains('\n'), "{message}");
    }
}

#[test]
fn query_error_messages_read_well() {
    assert_eq!(
        error("(runningTasksCount == 1 ))").to_string(),
        "Invalid filter expression: unbalanced parentheses: ')' at 25 has no matching '('"
    );
    assert_eq!(
        error("foo == 1").to_string(),
        "Invalid filter expression: unknown subject 'foo' at 0; expected agentConnected, agentVersion, \
         attribute:<name>, ec2InstanceId, registeredAt, runningTasksCount or task:group"
    );
    assert_eq!(
        error("not(runningTasksCount ==)").to_string(),
        "Invalid filter expression: operator '==' at 22 needs an argument"
    );
    // Long tokens are shortened in messages.
    let long = format!("runningTasksCount == 1 {}", "x".repeat(300));
    assert!(error(&long).to_string().len() < 200);
}

#[test]
fn query_length_limit_counts_characters() {
    let base = "attribute:x == ";
    let ok = format!("{base}{}", "a".repeat(MAX_EXPRESSION_LEN - base.len()));
    assert!(parse(&ok).is_ok());
    let too_long = format!("{base}{}", "a".repeat(MAX_EXPRESSION_LEN - base.len() + 1));
    assert_eq!(parse(&too_long).err(), Some(QueryError::TooLong { length: MAX_EXPRESSION_LEN + 1 }));
    // Multi-byte characters count once.
    let wide = format!("attribute:x == '{}'", "é".repeat(MAX_EXPRESSION_LEN - 20));
    assert!(parse(&wide).is_ok());
}

#[test]
fn query_nesting_limit_allows_reasonable_depth() {
    let deep = format!("{}runningTasksCount == 1{}", "(".repeat(MAX_NESTING), ")".repeat(MAX_NESTING));
    assert!(eval(&deep, &TestInstance::new()));
    let nots = format!("{}runningTasksCount == 1", "not ".repeat(MAX_NESTING));
    assert!(eval(&nots, &TestInstance::new()));
}

#[test]
fn query_expr_is_reusable_and_shareable() {
    fn assert_traits<T: Clone + std::fmt::Debug + Send + Sync + 'static>() {}
    assert_traits::<Expr>();
    let e: Expr = "attribute:ecs.instance-type =~ t2.*".parse().unwrap_or_else(|e| panic!("{e}"));
    let copy = e.clone();
    let instances = [TestInstance::new(), TestInstance::new().attr("ecs.instance-type", Some("m5.large"))];
    let selected: Vec<bool> = instances.iter().map(|i| copy.matches(i)).collect();
    assert_eq!(selected, [true, false]);
    assert!(format!("{e:?}").contains("t2"));
}
