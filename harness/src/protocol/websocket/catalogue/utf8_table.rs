//! The byte sequences of cases 6.5 to 6.23, in Autobahn's order: Markus Kuhn's UTF-8 decoder
//! stress test (valid and invalid sequences: boundaries, lonely and missing continuation bytes,
//! impossible bytes, overlong forms, surrogates), the prefixes of a valid string, the
//! non-characters and the Unicode specials. Each sequence with whether it is valid UTF-8.

/// The valid string whose prefixes make 6.6 (κόσμε).
pub const KOSME: &[u8] = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5";

/// The sequences that end in missing continuation bytes (6.14), concatenated in 6.15.
const MISSING_LAST: [&[u8]; 10] = [
    b"\xc0",
    b"\xe0\x80",
    b"\xf0\x80\x80",
    b"\xf8\x80\x80\x80",
    b"\xfc\x80\x80\x80\x80",
    b"\xdf",
    b"\xef\xbf",
    b"\xf7\xbf\xbf",
    b"\xfb\xbf\xbf\xbf",
    b"\xfd\xbf\xbf\xbf\xbf",
];

/// A group of sequences: its title and its (valid, bytes) members.
pub type Group = (&'static str, Vec<(bool, Vec<u8>)>);

fn fixed(title: &'static str, valid: bool, members: &[&[u8]]) -> Group {
    (title, members.iter().map(|m| (valid, m.to_vec())).collect())
}

/// The groups of 6.5 to 6.23, in order.
pub fn groups() -> Vec<Group> {
    let mut groups = vec![fixed(
        "Some valid UTF-8 sequences",
        true,
        &[
            b"hello\x24world",
            b"hello\xc2\xa2world",
            b"hello\xe2\x82\xacworld",
            b"hello\xf0\xa4\xad\xa2world",
            KOSME,
        ],
    )];
    groups.push((
        "All prefixes of a valid UTF-8 string that contains multi-byte code points",
        (1..=KOSME.len())
            .map(|n| {
                (
                    std::str::from_utf8(&KOSME[..n]).is_ok(),
                    KOSME[..n].to_vec(),
                )
            })
            .collect(),
    ));
    groups.push(fixed(
        "First possible sequence of a certain length",
        true,
        &[b"\x00", b"\xc2\x80", b"\xe0\xa0\x80", b"\xf0\x90\x80\x80"],
    ));
    groups.push(fixed(
        "First possible sequence length 5/6 (invalid codepoints)",
        false,
        &[b"\xf8\x88\x80\x80\x80", b"\xfc\x84\x80\x80\x80\x80"],
    ));
    groups.push(fixed(
        "Last possible sequence of a certain length",
        true,
        &[b"\x7f", b"\xdf\xbf", b"\xef\xbf\xbf", b"\xf4\x8f\xbf\xbf"],
    ));
    groups.push(fixed(
        "Last possible sequence length 4/5/6 (invalid codepoints)",
        false,
        &[
            b"\xf7\xbf\xbf\xbf",
            b"\xfb\xbf\xbf\xbf\xbf",
            b"\xfd\xbf\xbf\xbf\xbf\xbf",
        ],
    ));
    let mut boundary = fixed(
        "Other boundary conditions",
        true,
        &[
            b"\xed\x9f\xbf",
            b"\xee\x80\x80",
            b"\xef\xbf\xbd",
            b"\xf4\x8f\xbf\xbf",
        ],
    );
    boundary.1.push((false, b"\xf4\x90\x80\x80".to_vec()));
    groups.push(boundary);
    let mut continuation = fixed(
        "Unexpected continuation bytes",
        false,
        &[
            b"\x80",
            b"\xbf",
            b"\x80\xbf",
            b"\x80\xbf\x80",
            b"\x80\xbf\x80\xbf",
            b"\x80\xbf\x80\xbf\x80",
            b"\x80\xbf\x80\xbf\x80\xbf",
        ],
    );
    continuation.1.push((false, (0x80..0xbf).collect()));
    groups.push(continuation);
    groups.push((
        "Lonely start characters",
        [
            (0xc0u8, 0xdfu8),
            (0xe0, 0xef),
            (0xf0, 0xf7),
            (0xf8, 0xfb),
            (0xfc, 0xfd),
        ]
        .iter()
        .map(|&(lo, hi)| (false, (lo..hi).flat_map(|b| [b, 0x20]).collect()))
        .collect(),
    ));
    groups.extend(invalid_forms());
    groups
}

/// 6.14 to 6.23.
fn invalid_forms() -> Vec<Group> {
    let mut groups = vec![
        fixed(
            "Sequences with last continuation byte missing",
            false,
            &MISSING_LAST,
        ),
        (
            "Concatenation of incomplete sequences",
            vec![(false, MISSING_LAST.concat())],
        ),
        fixed(
            "Impossible bytes",
            false,
            &[b"\xfe", b"\xff", b"\xfe\xfe\xff\xff"],
        ),
        fixed(
            "Examples of an overlong ASCII character",
            false,
            &[
                b"\xc0\xaf",
                b"\xe0\x80\xaf",
                b"\xf0\x80\x80\xaf",
                b"\xf8\x80\x80\x80\xaf",
                b"\xfc\x80\x80\x80\x80\xaf",
            ],
        ),
        fixed(
            "Maximum overlong sequences",
            false,
            &[
                b"\xc1\xbf",
                b"\xe0\x9f\xbf",
                b"\xf0\x8f\xbf\xbf",
                b"\xf8\x87\xbf\xbf\xbf",
                b"\xfc\x83\xbf\xbf\xbf\xbf",
            ],
        ),
        fixed(
            "Overlong representation of the NUL character",
            false,
            &[
                b"\xc0\x80",
                b"\xe0\x80\x80",
                b"\xf0\x80\x80\x80",
                b"\xf8\x80\x80\x80\x80",
                b"\xfc\x80\x80\x80\x80\x80",
            ],
        ),
    ];
    let singles: [&[u8]; 7] = [
        b"\xed\xa0\x80",
        b"\xed\xad\xbf",
        b"\xed\xae\x80",
        b"\xed\xaf\xbf",
        b"\xed\xb0\x80",
        b"\xed\xbe\x80",
        b"\xed\xbf\xbf",
    ];
    groups.push(fixed("Single UTF-16 surrogates", false, &singles));
    let highs = &singles[..4];
    let lows: [&[u8]; 2] = [b"\xed\xb0\x80", b"\xed\xbf\xbf"];
    groups.push((
        "Paired UTF-16 surrogates",
        highs
            .iter()
            .flat_map(|h| lows.iter().map(move |l| (false, [*h, *l].concat())))
            .collect(),
    ));
    groups.push(("Non-character code points (valid UTF-8)", non_characters()));
    groups.push(fixed(
        "Unicode specials (i.e. replacement char)",
        true,
        &[
            b"\xef\xbf\xb9",
            b"\xef\xbf\xba",
            b"\xef\xbf\xbb",
            b"\xef\xbf\xbc",
            b"\xef\xbf\xbd",
            b"\xef\xbf\xbe",
            b"\xef\xbf\xbf",
        ],
    ));
    groups
}

/// U+FFFE, U+FFFF and the last two code points of planes 1 to 16: valid UTF-8 (RFC 3629).
fn non_characters() -> Vec<(bool, Vec<u8>)> {
    let mut members = vec![
        (true, b"\xef\xbf\xbe".to_vec()),
        (true, b"\xef\xbf\xbf".to_vec()),
    ];
    for z1 in [0xf0u8, 0xf1, 0xf2, 0xf3, 0xf4] {
        for z2 in [0x8fu8, 0x9f, 0xaf, 0xbf] {
            if z1 == 0xf4 && z2 != 0x8f {
                continue; // beyond U+10FFFF
            }
            for z3 in [0xbeu8, 0xbf] {
                if z1 == 0xf0 && z2 == 0x8f {
                    continue; // overlong
                }
                members.push((true, vec![z1, z2, 0xbf, z3]));
            }
        }
    }
    members
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_groups_have_autobahns_sizes_and_validity_agrees_with_std() {
        let sizes: Vec<usize> = groups().iter().map(|g| g.1.len()).collect();
        assert_eq!(
            sizes,
            [5, 11, 4, 2, 4, 3, 5, 8, 5, 10, 1, 3, 5, 5, 5, 7, 8, 34, 7]
        );
        for (title, members) in groups() {
            for (valid, bytes) in members {
                assert_eq!(
                    std::str::from_utf8(&bytes).is_ok(),
                    valid,
                    "{title}: {bytes:02x?}"
                );
            }
        }
    }
}
