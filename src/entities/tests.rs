//! Tests of entity lists. Fixtures: `tests/fixtures/entities/`.

use super::*;
use std::path::PathBuf;
use std::time::Instant;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/entities")
        .join(name)
}

fn load(name: &str) -> EntitySet {
    let mut set = EntitySet::new();
    set.add_file(&fixture(name))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    set
}

fn w(s: &str) -> Vec<String> {
    s.split(' ').map(str::to_string).collect()
}

/// The entity with these space-separated words.
fn ent<'a>(set: &'a EntitySet, words: &str) -> &'a Entity {
    set.get(&w(words)).unwrap_or_else(|| {
        panic!(
            "no entity {words:?} in {:#?}",
            set.entities()
                .iter()
                .map(|e| (e.words.join(" "), e.kind))
                .collect::<Vec<_>>()
        )
    })
}

fn has(set: &EntitySet, words: &str) -> bool {
    set.get(&w(words)).is_some()
}

fn fulls(set: &EntitySet) -> Vec<String> {
    let mut v: Vec<String> = set
        .entities()
        .iter()
        .filter(|e| e.kind == EntityKind::Full)
        .map(|e| e.words.join(" "))
        .collect();
    v.sort();
    v
}

fn warned(set: &EntitySet, needle: &str) -> bool {
    set.warnings().iter().any(|x| x.message.contains(needle))
}

// ---------------------------------------------------------------------------------------
// Normalization

#[test]
fn normalize_nfc_and_nfd_agree() {
    let nfc = "Jos\u{e9} \u{c1}lvarez";
    let nfd = "Jose\u{301} A\u{301}lvarez";
    assert_eq!(normalize_words(nfc), w("jose alvarez"));
    assert_eq!(normalize_words(nfd), w("jose alvarez"));
    // Vietnamese: two marks on one letter, and Latin Extended Additional precomposed.
    assert_eq!(normalize_words("Nguy\u{1ec5}n"), w("nguyen"));
    assert_eq!(normalize_words("Nguye\u{302}\u{303}n"), w("nguyen"));
    // Greek, Cyrillic, Hangul, kana: NFC and NFD give the same words.
    assert_eq!(normalize_words("Ά\u{3b8}ω"), normalize_words("Α\u{301}θω"));
    assert_eq!(normalize_words("Андрей"), normalize_words("Андреи\u{306}"));
    assert_eq!(normalize_words("Андрей"), vec!["андрей".to_string()]);
    assert_eq!(normalize_words("Фёдор"), normalize_words("Фе\u{308}дор"));
    assert_eq!(
        normalize_words("한국"),
        normalize_words("\u{1112}\u{1161}\u{11ab}\u{1100}\u{116e}\u{11a8}")
    );
    assert_eq!(normalize_words("がく"), normalize_words("か\u{3099}く"));
    assert_eq!(normalize_words("パン"), normalize_words("ハ\u{309a}ン"));
}

#[test]
fn normalize_words_rules() {
    assert_eq!(
        normalize_words("José O'Sullivan-Pérez"),
        w("jose o'sullivan perez")
    );
    // Curly and modifier apostrophes are apostrophes; at word edges they go.
    assert_eq!(
        normalize_words("Tadhg O\u{2019}Sullivan"),
        w("tadhg o'sullivan")
    );
    assert_eq!(normalize_words("O\u{2bc}Neill"), w("o'neill"));
    assert_eq!(
        normalize_words("'Ana' James' O''Hara"),
        w("ana james o'hara")
    );
    assert_eq!(normalize_words("Günther Straße"), w("gunther strasse"));
    assert_eq!(normalize_words("ẞ"), w("ss"));
    assert_eq!(
        normalize_words("Æsa Ørsted Łukasz Đoković Þóra Ðan Œuvre"),
        w("aesa orsted lukasz dokovic thora dan oeuvre")
    );
    assert_eq!(normalize_words("İlkay ıșık"), w("ilkay isik"));
    assert_eq!(normalize_words("Ｊｏｈｎ ﬁona"), w("john fiona"));
    // Separators split; digits stay; everything else goes.
    assert_eq!(normalize_words("J.R.R. Tolkien"), w("j r r tolkien"));
    assert_eq!(normalize_words("Agent 007 (work)"), w("agent 007 work"));
    assert_eq!(normalize_words("Anna😀Smith, Jr."), w("anna smith jr"));
    assert_eq!(
        normalize_words("Mary\u{2014}Kate\u{2010}Olsen"),
        w("mary kate olsen")
    );
    // Zero-width and control characters vanish without splitting.
    assert_eq!(
        normalize_words("Sio\u{200b}bhan\u{feff} Ng\u{200d}uyen\u{7}"),
        w("siobhan nguyen")
    );
    assert_eq!(normalize_words("Bi\u{ad}lal"), w("bilal"));
    assert_eq!(normalize_words("Ann\tLee\nKim"), w("ann lee kim"));
    // Non-Latin scripts are kept (lowercased), marks inside words included.
    assert_eq!(normalize_words("Москва"), vec!["москва".to_string()]);
    assert_eq!(
        normalize_words("नमस्ते जी"),
        vec!["नमस्ते".to_string(), "जी".to_string()]
    );
    assert_eq!(normalize_words("王小明"), vec!["王小明".to_string()]);
    assert_eq!(normalize_words("ΣΩΚΡΆΤΗΣ"), normalize_words("σωκρατησ"));
    // Nothing speakable.
    assert!(normalize_words("").is_empty());
    assert!(normalize_words(" -- ' \u{200b} ").is_empty());
    assert!(normalize_words("\u{301}\u{301}").is_empty());
}

#[test]
fn clean_display_and_split() {
    use normalize::{clean_display, split_given_family};
    assert_eq!(
        clean_display("  Siobhan \u{200b}\n\t Nguyen \r\n"),
        "Siobhan Nguyen"
    );
    let s = |d: &str| {
        let (g, f) = split_given_family(d);
        (g.unwrap_or_default(), f.unwrap_or_default())
    };
    assert_eq!(s("Siobhan Nguyen"), ("Siobhan".into(), "Nguyen".into()));
    assert_eq!(
        s("José O'Sullivan-Pérez"),
        ("José".into(), "O'Sullivan-Pérez".into())
    );
    assert_eq!(s("Dr. Ana de la Cruz"), ("Ana".into(), "de la Cruz".into()));
    assert_eq!(
        s("Ludwig van Beethoven"),
        ("Ludwig".into(), "van Beethoven".into())
    );
    assert_eq!(s("Nguyen Van An"), ("Nguyen".into(), "An".into()));
    assert_eq!(
        s("Martin Luther King Jr."),
        ("Martin".into(), "King".into())
    );
    assert_eq!(s("Mr Smith"), (String::new(), "Smith".into()));
    assert_eq!(s("Cher"), (String::new(), String::new()));
    assert_eq!(s("Anna - Smith"), ("Anna".into(), "Smith".into()));
}

// ---------------------------------------------------------------------------------------
// Plain text

#[test]
fn text_fixture() {
    let set = load("basic.txt");
    assert_eq!(
        fulls(&set),
        vec![
            "bjork",
            "dr ana de la cruz",
            "gunther strasse",
            "jose alvarez",
            "jose o'sullivan perez",
            "lukasz zolc",
            "siobhan kelly",
            "siobhan nguyen",
            "tadhg o'sullivan",
            "zoe bronte",
        ]
    );
    assert_eq!(set.contacts(), 10);
    // Display as written; the duplicate "siobhan nguyen" merged with the larger weight.
    let sn = ent(&set, "siobhan nguyen");
    assert_eq!(sn.display, "Siobhan Nguyen");
    assert_eq!(sn.weight, 4.0);
    assert_eq!(sn.kind, EntityKind::Full);
    let jose = ent(&set, "jose o'sullivan perez");
    assert_eq!(jose.display, "José O'Sullivan-Pérez");
    assert_eq!(jose.weight, 2.5);
    // Given and family names; "Siobhan" and "José" shared by two contacts: one entity each.
    let siobhan = ent(&set, "siobhan");
    assert_eq!(siobhan.kind, EntityKind::GivenName);
    assert_eq!(siobhan.contact, sn.contact);
    assert_eq!(siobhan.weight, 4.0);
    let n_siobhan = set
        .entities()
        .iter()
        .filter(|e| e.words == w("siobhan"))
        .count();
    assert_eq!(n_siobhan, 1);
    assert_eq!(ent(&set, "jose").display, "José");
    assert_eq!(ent(&set, "jose").weight, 2.5);
    assert_eq!(ent(&set, "o'sullivan perez").kind, EntityKind::FamilyName);
    assert_eq!(ent(&set, "o'sullivan perez").display, "O'Sullivan-Pérez");
    assert_eq!(ent(&set, "nguyen").kind, EntityKind::FamilyName);
    assert_eq!(ent(&set, "alvarez").kind, EntityKind::FamilyName);
    assert_eq!(ent(&set, "ana").kind, EntityKind::GivenName);
    assert_eq!(ent(&set, "de la cruz").kind, EntityKind::FamilyName);
    assert!(!has(&set, "dr"));
    assert!(!has(&set, "bjork bjork"));
    assert_eq!(ent(&set, "o'sullivan").display, "O’Sullivan");
    // Weights: 0 is allowed; NaN, -3, inf and abc warn and use 1.0.
    assert_eq!(ent(&set, "gunther strasse").weight, 0.0);
    assert_eq!(ent(&set, "siobhan kelly").weight, 1.0);
    assert_eq!(ent(&set, "tadhg o'sullivan").weight, 1.0);
    assert_eq!(ent(&set, "zoe bronte").weight, 1.0);
    assert_eq!(ent(&set, "lukasz zolc").weight, 1.5);
    for needle in [
        "\"NaN\" must be a finite number",
        "\"-3\" must be",
        "\"inf\" must be",
        "\"abc\" is not a number",
        "more than one tab",
        "no name before the tab",
    ] {
        assert!(
            warned(&set, needle),
            "no warning {needle:?}: {:?}",
            set.warnings()
        );
    }
    let nan = set
        .warnings()
        .iter()
        .find(|x| x.message.contains("NaN"))
        .unwrap();
    assert_eq!(nan.line, 8);
    assert!(nan
        .to_string()
        .ends_with("basic.txt:8: weight \"NaN\" must be a finite number >= 0; using 1"));
    // Every entity: words non-empty, weight finite.
    for e in set.entities() {
        assert!(!e.words.is_empty() && e.words.len() <= MAX_WORDS);
        assert!(e.weight.is_finite() && e.weight >= 0.0);
        assert!((e.contact as usize) < set.contacts());
    }
}

#[test]
fn text_line_endings_and_bom() {
    for text in [
        "\u{feff}Ann Lee\r\nBo Kim\r\n",
        "Ann Lee\rBo Kim\r",
        "Ann Lee\nBo Kim",
        "\n\n  Ann Lee  \n\n\nBo   Kim\n\n",
    ] {
        let mut set = EntitySet::new();
        assert_eq!(set.add_text(text, Format::Text).unwrap(), 2, "{text:?}");
        assert_eq!(fulls(&set), vec!["ann lee", "bo kim"], "{text:?}");
        assert_eq!(ent(&set, "ann lee").display, "Ann Lee");
        assert_eq!(ent(&set, "bo kim").display, "Bo Kim");
    }
}

#[test]
fn utf16_with_bom() {
    let text = "Zoë Brontë\r\nAnn Lee\r\n";
    for le in [true, false] {
        let mut bytes = if le {
            vec![0xFF, 0xFE]
        } else {
            vec![0xFE, 0xFF]
        };
        for u in text.encode_utf16() {
            bytes.extend(if le { u.to_le_bytes() } else { u.to_be_bytes() });
        }
        let mut set = EntitySet::new();
        assert_eq!(
            set.add_bytes(&bytes, Format::Auto, Path::new("x.txt"))
                .unwrap(),
            2
        );
        assert_eq!(ent(&set, "zoe bronte").display, "Zoë Brontë");
    }
}

#[test]
fn merge_kinds_and_lists() {
    let mut set = EntitySet::new();
    set.add_text("Siobhan Nguyen\n", Format::Text).unwrap();
    assert_eq!(ent(&set, "siobhan").kind, EntityKind::GivenName);
    // Listed on its own, "Siobhan" is a full name (of its own contact).
    set.add_text("Siobhan\t3\n", Format::Text).unwrap();
    let s = ent(&set, "siobhan");
    assert_eq!((s.kind, s.contact, s.weight), (EntityKind::Full, 1, 3.0));
    assert_eq!(set.contact_name(1), Some("Siobhan"));
    // The same person in another list (other format) is the same contact; nickname added.
    let n = set
        .add_text(
            "First Name,Last Name,Nickname\nSIOBHAN,NGUYEN,Shiv\n",
            Format::Auto,
        )
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(set.contacts(), 2);
    assert_eq!(ent(&set, "siobhan nguyen").display, "Siobhan Nguyen");
    let shiv = ent(&set, "shiv");
    assert_eq!((shiv.kind, shiv.contact), (EntityKind::Nickname, 0));
    // A family name equal to another contact's given name stays one entity.
    set.add_text("Jordan Lee\nAnn Jordan\n", Format::Text)
        .unwrap();
    assert_eq!(
        set.entities()
            .iter()
            .filter(|e| e.words == w("jordan"))
            .count(),
        1
    );
    assert_eq!(ent(&set, "jordan").kind, EntityKind::GivenName);
}

// ---------------------------------------------------------------------------------------
// CSV

#[test]
fn csv_google_export() {
    let set = load("google.csv");
    assert_eq!(
        fulls(&set),
        vec![
            "acme plumbing",
            "cher",
            "jean luc picard",
            "mary ann o'brien jr",
            "siobhan nguyen"
        ]
    );
    let mary = ent(&set, "mary ann o'brien jr");
    assert_eq!(mary.display, "Mary Ann O'Brien, Jr");
    assert_eq!(ent(&set, "mary ann").kind, EntityKind::GivenName);
    assert_eq!(ent(&set, "o'brien jr").kind, EntityKind::FamilyName);
    for nick in ["mo", "annie", "shiv"] {
        assert_eq!(ent(&set, nick).kind, EntityKind::Nickname);
    }
    assert_eq!(ent(&set, "mo").contact, mary.contact);
    assert_eq!(ent(&set, "jean luc").kind, EntityKind::GivenName);
    assert_eq!(ent(&set, "picard").kind, EntityKind::FamilyName);
    // Company row: full only.
    assert!(!has(&set, "acme") && !has(&set, "plumbing"));
    // Notes (with quotes and newlines) are not names.
    assert!(!has(&set, "second line of notes"));
    assert!(set
        .entities()
        .iter()
        .all(|e| !e.words.contains(&"conference".into())));
    // The phone-only row warns with its line (records span lines inside quotes).
    let no_name = set
        .warnings()
        .iter()
        .find(|x| x.message.contains("no name"))
        .expect("warning for the phone-only row");
    assert_eq!(no_name.line, 9);
    assert_eq!(set.warnings().len(), 1, "{:?}", set.warnings());
}

#[test]
fn csv_outlook_semicolons() {
    let set = load("outlook.csv");
    assert_eq!(
        fulls(&set),
        vec!["aitor olabarrieta", "conceicao maria figueiredo", "ng pui"]
    );
    assert_eq!(ent(&set, "conceicao").display, "Conceição");
    assert_eq!(ent(&set, "figueiredo").kind, EntityKind::FamilyName);
    assert_eq!(ent(&set, "ng pui").display, "Ng; Pui");
    assert!(!has(&set, "maria"), "middle names are not entities");
    assert!(!has(&set, "mr"));
}

#[test]
fn csv_simple_noheader_tabs() {
    let set = load("simple.csv");
    assert_eq!(fulls(&set), vec!["adaeze onyekachi", "tadhg o'sullivan"]);
    assert_eq!(ent(&set, "o'sullivan").kind, EntityKind::FamilyName);
    assert!(set.warnings().is_empty());

    let set = load("noheader.csv");
    assert_eq!(fulls(&set), vec!["balaji venugopal", "siobhan nguyen"]);
    assert_eq!(ent(&set, "venugopal").kind, EntityKind::FamilyName);

    let set = load("tabs.tsv");
    assert_eq!(fulls(&set), vec!["anahit sargsyan", "bence nemeth"]);
    assert_eq!(ent(&set, "anahit sargsyan").weight, 2.0);
    assert_eq!(ent(&set, "bence nemeth").weight, 1.0);
    assert_eq!(ent(&set, "nemeth").display, "Németh");
}

#[test]
fn csv_header_variants_and_quoting() {
    let cases: &[(&str, &[&str])] = &[
        ("Given Name,Family Name\nAnn,Lee\n", &["ann lee"]),
        ("Surname;Forename\nLee;Ann\n", &["ann lee"]),
        ("FN,Phone\n\"Lee, Ann\",1\n", &["lee ann"]),
        ("Full Name,Email\nAnn Lee,a@b.c\n", &["ann lee"]),
        ("Name\tMobile\nAnn Lee\t1\n", &["ann lee"]),
        ("Name,Display Name\nwrong,Ann Lee\n", &["ann lee"]),
        (
            " \"First Name\" , \"Last Name\" \n \"Ann\" , \"Lee\"\n",
            &["ann lee"],
        ),
        (
            "name,nickname\n\"Ann \"\"Red\"\" Lee\",\"Annie, Red\"\n",
            &["ann red lee"],
        ),
        ("first,last\n\"Ann\nMarie\",Lee\n", &["ann marie lee"]),
        ("first,last\r\nAnn,Lee\r\nBo,\r\n", &["ann lee", "bo"]),
        (
            "sep=;\nFirst Name;Last Name\nAnn;Lee, Jr\n",
            &["ann lee jr"],
        ),
    ];
    for (text, want) in cases {
        let mut set = EntitySet::new();
        set.add_text(text, Format::Csv).unwrap();
        assert_eq!(fulls(&set), *want, "{text:?}");
    }
    let mut set = EntitySet::new();
    set.add_text(
        "name,nickname\n\"Ann \"\"Red\"\" Lee\",\"Annie, Red\"\n",
        Format::Csv,
    )
    .unwrap();
    assert_eq!(ent(&set, "ann red lee").display, "Ann \"Red\" Lee");
    assert!(has(&set, "annie") && has(&set, "red"));
}

#[test]
fn csv_bad_records() {
    // A quote never closed skips its line only; a record with too many fields is skipped.
    let mut text = String::from("first,last\nAnn,\"Lee\nBo,Kim\n");
    text.push_str(&",".repeat(MAX_FIELDS + 5));
    text.push_str("\nCy,Dunn\n");
    let mut set = EntitySet::new();
    set.add_text(&text, Format::Csv).unwrap();
    assert_eq!(fulls(&set), vec!["bo kim", "cy dunn"]);
    assert!(warned(&set, "quoted field never closed"));
    assert!(warned(&set, "more than 1024 fields"));
    let l = set
        .warnings()
        .iter()
        .find(|x| x.message.contains("never"))
        .unwrap();
    assert_eq!(l.line, 2);
    // Header naming phones but no name column.
    let err = EntitySet::new()
        .add_text("Phone,E-mail\n555,a@b.c\n", Format::Csv)
        .unwrap_err();
    assert!(
        matches!(err, EntityError::NoNameColumn { line: 1, .. }),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------
// vCard

#[test]
fn vcard_30() {
    let set = load("v30.vcf");
    assert_eq!(
        fulls(&set),
        vec![
            "acme plumbing",
            "jean luc picard",
            "o'brien mary ann",
            "siobhan nguyen"
        ]
    );
    // Folded FN; N gives given and family; nicknames.
    assert_eq!(ent(&set, "siobhan nguyen").display, "Siobhan Nguyen");
    assert_eq!(ent(&set, "siobhan").kind, EntityKind::GivenName);
    assert_eq!(ent(&set, "shiv").kind, EntityKind::Nickname);
    assert_eq!(ent(&set, "bonnie").kind, EntityKind::Nickname);
    // Groups, lowercase names, escaped comma, comma list in N.
    assert_eq!(ent(&set, "o'brien mary ann").display, "O'Brien, Mary Ann");
    assert_eq!(ent(&set, "mary ann").display, "Mary Ann");
    assert_eq!(ent(&set, "o'brien").kind, EntityKind::FamilyName);
    // Company card: no given/family. No N: derived from FN.
    assert!(!has(&set, "acme"));
    assert_eq!(ent(&set, "jean luc").kind, EntityKind::GivenName);
    assert_eq!(ent(&set, "picard").kind, EntityKind::FamilyName);
    assert!(!has(&set, "not a name"));
    assert!(warned(&set, "card has no name"));
}

#[test]
fn vcard_21_qp_and_charsets() {
    let set = load("v21.vcf");
    assert_eq!(
        fulls(&set),
        vec![
            "francois siler",
            "gunther strasse",
            "jose o'sullivan perez",
            "zoe bronte"
        ]
    );
    assert_eq!(
        ent(&set, "jose o'sullivan perez").display,
        "José O'Sullivan-Pérez"
    );
    assert_eq!(ent(&set, "o'sullivan perez").kind, EntityKind::FamilyName);
    assert_eq!(ent(&set, "zoe bronte").display, "Zoë Brönte");
    assert_eq!(ent(&set, "francois siler").display, "François Šiler");
    assert_eq!(ent(&set, "siler").display, "Šiler");
    assert!(!has(&set, "fake name"));
    assert!(set.warnings().is_empty(), "{:?}", set.warnings());
}

#[test]
fn vcard_40_and_unicode() {
    let set = load("v40.vcf");
    assert_eq!(fulls(&set), vec!["chloe nguyen", "zoe bronte"]);
    assert_eq!(ent(&set, "chloe nguyen").display, "Chloë Nguyen");
    assert_eq!(ent(&set, "z b").kind, EntityKind::Nickname);
    assert_eq!(ent(&set, "z b").display, "Z,B");
    assert_eq!(ent(&set, "bron").kind, EntityKind::Nickname);
    assert_eq!(ent(&set, "zoe").kind, EntityKind::GivenName);
    // The NFD spelling in this file and the NFC one in v21.vcf are one entity.
    let mut both = load("v21.vcf");
    let before = both.len();
    both.add_file(&fixture("v40.vcf")).unwrap();
    assert_eq!(
        both.entities()
            .iter()
            .filter(|e| e.words == w("zoe bronte"))
            .count(),
        1
    );
    assert!(both.len() > before);
    assert_eq!(ent(&both, "z b").contact, ent(&both, "zoe bronte").contact);
}

#[test]
fn vcard_edge_cases() {
    let cases: &[(&str, &[&str])] = &[
        // Missing END, BEGIN inside a card, properties outside cards, bare CR endings.
        ("FN:Outside\rBEGIN:VCARD\rFN:Ann Lee\rBEGIN:VCARD\rFN:Bo Kim\r", &["ann lee", "bo kim"]),
        // N only.
        ("BEGIN:VCARD\nN:Lee;Ann;Marie;Dr.;\nEND:VCARD\n", &["ann marie lee"]),
        // ORG only; nickname only.
        ("BEGIN:VCARD\nORG:Acme\\, Inc.;Sales\nEND:VCARD\nBEGIN:VCARD\nNICKNAME:Red\nEND:VCARD\n", &["acme inc", "red"]),
        // Empty FN falls back to N; folded params; tab fold; quoted colon in a parameter.
        ("BEGIN:VCARD\nFN:\nN:Lee;Ann\nEND:VCARD\n", &["ann lee"]),
        ("BEGIN:VCARD\nFN;X-A=\"a:b;c\";CHAR\n SET=UTF-8:Ann\n\tLee\nEND:VCARD\n", &["annlee"]),
        // Base64 name; QP folded with leading-space continuation.
        ("BEGIN:VCARD\nFN;ENCODING=B:QW5uIExlZQ==\nEND:VCARD\n", &["ann lee"]),
        ("BEGIN:VCARD\nFN;QUOTED-PRINTABLE:Ann=\n =20Lee\nEND:VCARD\n", &["ann lee"]),
        // QP soft break before END is not a continuation.
        ("BEGIN:VCARD\nFN;ENCODING=QUOTED-PRINTABLE:Ann Lee=\nEND:VCARD\nBEGIN:VCARD\nFN:Bo\nEND:VCARD\n", &["ann lee", "bo"]),
        // Android nickname.
        ("BEGIN:VCARD\nVERSION:2.1\nN:Lee;Ann;;;\nFN:Ann Lee\nX-ANDROID-CUSTOM:vnd.android.cursor.item/nickname;Red;1;;;;;;;;;;;;;\nEND:VCARD\n", &["ann lee"]),
        // Unknown charset with valid UTF-8 bytes.
        ("BEGIN:VCARD\nFN;CHARSET=KOI8-R:Ann Lee\nEND:VCARD\n", &["ann lee"]),
    ];
    for (text, want) in cases {
        let mut set = EntitySet::new();
        set.add_text(text, Format::Vcard).unwrap();
        assert_eq!(fulls(&set), *want, "{text:?}");
    }
    let mut set = EntitySet::new();
    set.add_text(cases[8].0, Format::Auto).unwrap();
    assert_eq!(ent(&set, "red").kind, EntityKind::Nickname);
    // Unknown charset with non-UTF-8 bytes: property skipped, warned.
    let mut set = EntitySet::new();
    let bytes = b"BEGIN:VCARD\nFN;CHARSET=Shift_JIS:\x83\x65\nN:Lee;Ann\nEND:VCARD\n";
    set.add_bytes(bytes, Format::Vcard, Path::new("x.vcf"))
        .unwrap();
    assert_eq!(fulls(&set), vec!["ann lee"]);
    assert!(warned(&set, "unsupported CHARSET=Shift_JIS"));
}

#[test]
fn same_contacts_in_three_formats() {
    let text = "Siobhan Nguyen\nJosé O'Sullivan-Pérez\nTadhg O'Sullivan\n";
    let csv = "first_name,last_name,phone\nSiobhan,Nguyen,1\nJosé,O'Sullivan-Pérez,2\nTadhg,O'Sullivan,3\n";
    let vcf = "BEGIN:VCARD\nVERSION:3.0\nN:Nguyen;Siobhan;;;\nFN:Siobhan Nguyen\nEND:VCARD\n\
               BEGIN:VCARD\nVERSION:3.0\nN:O'Sullivan-Pérez;José;;;\nFN:José O'Sullivan-Pérez\nEND:VCARD\n\
               BEGIN:VCARD\nVERSION:3.0\nN:O'Sullivan;Tadhg;;;\nFN:Tadhg O'Sullivan\nEND:VCARD\n";
    let sets: Vec<EntitySet> = [text, csv, vcf]
        .iter()
        .map(|t| {
            let mut s = EntitySet::new();
            assert_eq!(s.add_text(t, Format::Auto).unwrap(), 3);
            s
        })
        .collect();
    for s in &sets[1..] {
        assert_eq!(s.entities(), sets[0].entities());
    }
}

// ---------------------------------------------------------------------------------------
// Sniffing

#[test]
fn sniffing() {
    let p = |s: &str| PathBuf::from(s);
    let vcf = b"\n\nBEGIN:VCARD\nFN:Ann Lee\nEND:VCARD\n";
    assert_eq!(sniff(vcf, &p("contacts.txt")), Format::Vcard);
    assert_eq!(
        sniff(b"First Name,Last Name\nAnn,Lee\n", &p("a.txt")),
        Format::Csv
    );
    assert_eq!(sniff(b"\"Name\";\"Phone\"\n", &p("a")), Format::Csv);
    assert_eq!(sniff(b"Ann Lee\nBo Kim\n", &p("a.csv")), Format::Csv);
    assert_eq!(sniff(b"Ann,Lee,1\nBo,Kim,2\n", &p("a.txt")), Format::Text);
    assert_eq!(sniff(b"Ann,Lee,1\nBo,Kim,2\n", &p("a")), Format::Csv);
    assert_eq!(sniff(b"Ann;Lee\nBo;Kim\n", &p("a")), Format::Csv);
    assert_eq!(sniff(b"Ann Lee\t2\nBo Kim\t0.5\n", &p("a")), Format::Text);
    assert_eq!(sniff(b"Ann\tLee\t1\nBo\tKim\t2\n", &p("a")), Format::Csv);
    assert_eq!(sniff(b"Ann Lee\nBo, Kim\n", &p("a")), Format::Text);
    assert_eq!(sniff(b"Ann Lee\n", &p("a.vcf")), Format::Vcard);
    assert_eq!(sniff(b"", &p("a")), Format::Text);
    assert_eq!(sniff(b"sep=;\nName;Phone\n", &p("a")), Format::Csv);
}

// ---------------------------------------------------------------------------------------
// Bad input

#[test]
fn file_errors() {
    let mut set = EntitySet::new();
    let missing = fixture("no-such-file.txt");
    let err = set.add_file(&missing).unwrap_err();
    assert!(matches!(err, EntityError::Io { .. }));
    assert!(err.to_string().contains("no-such-file.txt"), "{err}");

    let dir = fixture("");
    let err = set.add_file(&dir).unwrap_err();
    assert!(matches!(err, EntityError::IsDirectory { .. }), "{err}");
    assert!(err.to_string().contains("is a directory"), "{err}");

    // A (sparse) file over the limit is refused before reading.
    let tmp = std::env::temp_dir().join(format!("nomen-entities-big-{}.txt", std::process::id()));
    let f = std::fs::File::create(&tmp).unwrap();
    f.set_len(MAX_FILE_BYTES + 1).unwrap();
    let err = set.add_file(&tmp).unwrap_err();
    std::fs::remove_file(&tmp).ok();
    assert!(matches!(err, EntityError::TooLarge { .. }), "{err}");
    assert!(set.is_empty() && set.warnings().is_empty());
}

#[test]
fn binary_is_not_text() {
    let mut set = EntitySet::new();
    let png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00";
    let err = set
        .add_bytes(png, Format::Auto, Path::new("photo.txt"))
        .unwrap_err();
    assert!(matches!(err, EntityError::NotText { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("photo.txt: not a text contact list"),
        "{err}"
    );
    // No NUL, but mostly control bytes.
    let junk: Vec<u8> = (0..4000u32).map(|i| (i * 7 % 32) as u8 | 1).collect();
    let err = set
        .add_bytes(&junk, Format::Text, Path::new("j"))
        .unwrap_err();
    assert!(matches!(err, EntityError::NotText { .. }), "{err}");
    // Random high bytes, not UTF-8.
    let junk: Vec<u8> = (0..4000u32).map(|i| 0x80 | (i * 31 % 128) as u8).collect();
    let err = set
        .add_bytes(&junk, Format::Auto, Path::new("j"))
        .unwrap_err();
    assert!(matches!(err, EntityError::NotText { .. }), "{err}");
    // Text in non-Latin scripts is text, also where the 64 KB sample cuts a character.
    let cjk = "王小明\n".repeat(30_000);
    assert_eq!(set.add_text(&cjk, Format::Auto).unwrap(), 30_000);
    let cut = format!("x{}", "王\n".repeat(30_000));
    assert_eq!(set.add_text(&cut, Format::Auto).unwrap(), 30_000);
    assert_eq!(fulls(&set), vec!["x王", "王", "王小明"]);
    // UTF-16 without a BOM has NULs.
    let err = set
        .add_bytes(b"A\0n\0n\0", Format::Auto, Path::new("j"))
        .unwrap_err();
    assert!(err.to_string().contains("UTF-16"), "{err}");
}

#[test]
fn invalid_utf8_costs_only_its_line_or_property() {
    // Text and CSV: the bad line is skipped with a warning naming it; the rest is read.
    let bytes = b"Ann Lee\nBo Kim\nZo\xeb Bront\xeb\nCy Young\n";
    for format in [Format::Text, Format::Csv, Format::Auto] {
        let mut set = EntitySet::new();
        let n = set.add_bytes(bytes, format, Path::new("l.txt")).unwrap();
        assert_eq!(n, 3, "{format:?}");
        assert!(set.entities().iter().any(|e| e.display == "Cy Young"));
        let w = set
            .warnings()
            .iter()
            .map(|w| w.to_string())
            .collect::<Vec<_>>();
        assert!(
            w.iter().any(|w| w.starts_with("l.txt:3: invalid UTF-8")),
            "{format:?}: {w:?}"
        );
    }
    // vCard without CHARSET (also after quoted-printable decoding): the property is skipped
    // with a warning at its line; the other cards are kept.
    for bad in [&b"FN:Zo\xeb"[..], b"FN;ENCODING=QUOTED-PRINTABLE:Zo=EB"] {
        let mut bytes = b"BEGIN:VCARD\nFN:Ann Lee\nEND:VCARD\nBEGIN:VCARD\n".to_vec();
        bytes.extend_from_slice(bad);
        bytes.extend_from_slice(b"\nEND:VCARD\nBEGIN:VCARD\nFN:Bo Kim\nEND:VCARD\n");
        let mut set = EntitySet::new();
        set.add_bytes(&bytes, Format::Vcard, Path::new("c.vcf"))
            .unwrap();
        assert_eq!(set.contacts(), 2, "{:?}", set.entities());
        let w = set
            .warnings()
            .iter()
            .map(|w| w.to_string())
            .collect::<Vec<_>>();
        assert!(
            w.iter().any(|w| w.starts_with("c.vcf:5: invalid UTF-8")),
            "{w:?}"
        );
    }
    // Declared ISO-8859-1: decoded.
    let mut set = EntitySet::new();
    let bytes = b"BEGIN:VCARD\nFN;CHARSET=ISO-8859-1:Zo\xeb\nEND:VCARD\n";
    set.add_bytes(bytes, Format::Vcard, Path::new("c.vcf"))
        .unwrap();
    assert_eq!(ent(&set, "zoe").display, "Zoë");
    assert_eq!(set.contacts(), 1);
}

#[test]
fn huge_lines() {
    let long = "x".repeat(10 << 20);
    // Text: the long line is skipped (not truncated), the rest is read.
    let mut set = EntitySet::new();
    let n = set
        .add_text(&format!("Ann Lee\n{long}\nBo Kim\n"), Format::Text)
        .unwrap();
    assert_eq!(n, 2);
    let warn = &set.warnings()[0];
    assert_eq!(warn.line, 2);
    assert!(
        warn.message
            .contains("longer than the limit of 4096; skipped"),
        "{warn}"
    );
    // A file that is one 10 MB line: no entries, a warning.
    let mut set = EntitySet::new();
    assert_eq!(set.add_text(&long, Format::Auto).unwrap(), 0);
    assert!(warned(&set, "no names found"));
    // CSV: the record is skipped.
    let mut set = EntitySet::new();
    let n = set
        .add_text(&format!("name,phone\n{long},1\nBo Kim,2\n"), Format::Auto)
        .unwrap();
    assert_eq!(n, 1);
    assert!(warned(&set, "record longer than"));
    // A long name in a quoted field with a short record is within the record limit but not
    // the name limit.
    let mut set = EntitySet::new();
    let name = "y".repeat(5000);
    set.add_text(
        &format!("name,phone\n\"{name}\",1\nBo Kim,2\n"),
        Format::Csv,
    )
    .unwrap();
    assert!(warned(&set, "row skipped"));
    assert_eq!(fulls(&set), vec!["bo kim"]);
    // vCard: a huge FN is skipped, a huge photo is ignored.
    let mut set = EntitySet::new();
    let text =
        format!("BEGIN:VCARD\nFN:{long}\nN:Lee;Ann\nPHOTO;ENCODING=b:{long}\n {long}\nEND:VCARD\n");
    set.add_text(&text, Format::Auto).unwrap();
    assert_eq!(fulls(&set), vec!["ann lee"]);
    assert_eq!(set.warnings().len(), 1, "{:?}", set.warnings());
}

#[test]
fn name_limits_and_empty_names() {
    let mut set = EntitySet::new();
    let long_word = "a".repeat(MAX_WORD_CHARS + 1);
    let text = format!(
        "one two three four five six seven eight nine\n{long_word}\n---\n😀\n\u{200b}\n\t\nOk Name\n"
    );
    assert_eq!(set.add_text(&text, Format::Text).unwrap(), 1);
    assert_eq!(fulls(&set), vec!["ok name"]);
    assert!(warned(&set, "has 9 words (limit 8)"));
    assert!(warned(&set, "has a word of 49 characters"));
    assert!(warned(&set, "\"---\" has no letters or digits"));
    assert!(warned(&set, "\"😀\" has no letters or digits"));
    // Eight words are fine.
    let mut set = EntitySet::new();
    set.add_text("a b c d e f g h\n", Format::Text).unwrap();
    assert_eq!(set.contacts(), 1);
    // Nothing at all.
    let mut set = EntitySet::new();
    assert_eq!(set.add_text("", Format::Auto).unwrap(), 0);
    assert_eq!(
        set.add_text("# only a comment\n\n", Format::Auto).unwrap(),
        0
    );
    assert!(set.is_empty());
}

#[test]
fn weight_limits() {
    let mut set = EntitySet::new();
    set.add_text("Ann Lee\t1e30\nBo Kim\t 0.25 \nCy Dunn\t-0\n", Format::Text)
        .unwrap();
    assert_eq!(ent(&set, "ann lee").weight, MAX_WEIGHT);
    assert_eq!(ent(&set, "bo kim").weight, 0.25);
    assert_eq!(ent(&set, "cy dunn").weight, 0.0);
    assert!(warned(&set, "above 1000"));
}

#[test]
fn warnings_are_capped() {
    let mut text = String::new();
    for _ in 0..1000 {
        text.push_str("---\n");
    }
    let mut set = EntitySet::new();
    set.add_text(&text, Format::Text).unwrap();
    assert_eq!(set.warnings().len(), MAX_WARNINGS_PER_INPUT + 1);
    assert!(set
        .warnings()
        .last()
        .unwrap()
        .message
        .contains("more warnings not shown"));
}

/// Every prefix of every fixture, in every format, and mutated copies: no panic, and every
/// entity within the limits.
#[test]
fn fuzz_prefixes_and_mutations() {
    let names = [
        "basic.txt",
        "google.csv",
        "outlook.csv",
        "simple.csv",
        "noheader.csv",
        "tabs.tsv",
        "v21.vcf",
        "v30.vcf",
        "v40.vcf",
    ];
    let formats = [Format::Auto, Format::Text, Format::Csv, Format::Vcard];
    let check = |bytes: &[u8], path: &Path| {
        for f in formats {
            let mut set = EntitySet::new();
            if set.add_bytes(bytes, f, path).is_ok() {
                for e in set.entities() {
                    assert!(!e.words.is_empty() && e.words.len() <= MAX_WORDS);
                    assert!(e.words.iter().all(|w| !w.is_empty() && !w.contains(' ')));
                    assert!(e.weight.is_finite() && (0.0..=MAX_WEIGHT).contains(&e.weight));
                    assert!((e.contact as usize) < set.contacts());
                    assert!(!e.display.is_empty());
                }
            }
        }
    };
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut rand = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let specials = b"\"\\,;:=\t\r\n \x00\xc3\xa9\xff.'";
    for name in names {
        let bytes = std::fs::read(fixture(name)).unwrap();
        let path = PathBuf::from(name);
        for end in 0..=bytes.len() {
            check(&bytes[..end], &path);
            check(&bytes[end..], &path);
        }
        for _ in 0..300 {
            let mut m = bytes.clone();
            for _ in 0..1 + rand() % 8 {
                let at = (rand() as usize) % (m.len() + 1);
                let x = specials[(rand() as usize) % specials.len()];
                match rand() % 3 {
                    0 => m.insert(at, x),
                    1 if at < m.len() => m[at] = x,
                    _ if at < m.len() => {
                        m.remove(at);
                    }
                    _ => {}
                }
            }
            check(&m, &path);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Scale

fn synthetic(n: usize) -> String {
    const GIVEN: [&str; 10] = [
        "Siobhan", "José", "Tadhg", "Adaeze", "Bjørn", "Zoë", "Aitor", "Mary Ann", "Günther", "Pui",
    ];
    let mut s = String::with_capacity(n * 24);
    for i in 0..n {
        // Distinct family names from the index spelled in letters.
        let mut fam = String::new();
        let mut k = i;
        loop {
            fam.push((b'a' + (k % 26) as u8) as char);
            k /= 26;
            if k == 0 {
                break;
            }
        }
        s.push_str(GIVEN[i % GIVEN.len()]);
        s.push_str(" O'");
        s.push_str(&fam);
        s.push_str("-Pérez\t1.5\n");
    }
    s
}

/// Timing note (not a timed test): `cargo test --release --lib entities::tests::hundred --
/// --nocapture` prints how long 1,000 and 100,000 entries take in each format.
#[test]
fn hundred_thousand_entries() {
    for n in [1_000, 100_000] {
        let text = synthetic(n);
        let mut csv = String::from("First Name,Last Name,Phone\n");
        let mut vcf = String::new();
        for l in text.lines() {
            let name = l.split('\t').next().unwrap();
            let (given, family) = name.rsplit_once(' ').unwrap();
            csv.push_str(&format!("{given},\"{family}\",+44 7700 900123\n"));
            vcf.push_str(&format!(
                "BEGIN:VCARD\r\nVERSION:3.0\r\nN:{family};{given};;;\r\nFN:{name}\r\n\
                 TEL;TYPE=CELL:+44 7700 900123\r\nEND:VCARD\r\n"
            ));
        }
        for (format, input) in [("text", &text), ("csv", &csv), ("vcard", &vcf)] {
            let start = Instant::now();
            let mut set = EntitySet::new();
            assert_eq!(set.add_text(input, Format::Auto).unwrap(), n);
            let took = start.elapsed();
            eprintln!(
                "entities: {n} {format} entries ({} KB) -> {} entities in {:.1} ms",
                input.len() >> 10,
                set.len(),
                took.as_secs_f64() * 1e3
            );
            assert_eq!(set.contacts(), n);
            // Full + family per entry, plus the shared given names.
            assert_eq!(set.len(), 2 * n + 10);
            assert!(set.warnings().is_empty());
        }
    }
}

#[test]
fn contact_limit() {
    let text = synthetic(MAX_CONTACTS + 10);
    let mut set = EntitySet::new();
    assert_eq!(set.add_text(&text, Format::Text).unwrap(), MAX_CONTACTS);
    assert_eq!(set.contacts(), MAX_CONTACTS);
    assert!(warned(&set, "more than 200000 entries"));
}
