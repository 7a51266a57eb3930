//! Categories 12 (permessage-deflate with different payloads) and 13 (with different
//! parameters), after Autobahn|Testsuite: each case offers permessage-deflate (RFC 7692) in its
//! handshake, then sends messages compressed, each after the echo of the last, and expects every
//! echo to inflate to what it sent. A server that accepts no extension makes the case
//! `unimplemented`.
//!
//! Autobahn sends 1000 messages a case; this catalogue sends fewer (from 64 for the small
//! payloads down to 4 of 128 KiB, [`messages`]) so that the 216 cases run in seconds, not
//! hours. The ids keep Autobahn's meaning: the same payload sizes and auto-fragment sizes in the
//! same order (12.x.1 to 12.x.18), the same data kinds (12.1 to 12.5) and offers (13.1 to 13.7).

use super::super::deflate::{Offer, offer_header};
use super::super::model::{Case, DeflateRun, Expected, Step};
use super::case;
use super::compression_data::DataSet;

/// Autobahn's payload sizes and auto-fragment sizes (0: one frame), cases .1 to .18.
const SIZES: [(usize, usize); 18] = [
    (16, 0),
    (64, 0),
    (256, 0),
    (1024, 0),
    (4096, 0),
    (8192, 0),
    (16384, 0),
    (32768, 0),
    (65536, 0),
    (131072, 0),
    (8192, 256),
    (16384, 256),
    (32768, 256),
    (65536, 256),
    (131072, 256),
    (131072, 1024),
    (131072, 4096),
    (131072, 32768),
];

/// The payload bytes a case sends at most, over all its messages.
const BYTES_PER_CASE: usize = 512 * 1024;

/// Messages a case sends: 64 small ones, fewer large ones (at least 4).
pub fn messages(len: usize) -> usize {
    (BYTES_PER_CASE / len.max(1)).clamp(4, 64)
}

/// Categories 12.1 to 12.5: the data sets, in Autobahn's order.
const DATA_SETS: [DataSet; 5] = [
    DataSet::Json,
    DataSet::Bitmap,
    DataSet::Prose,
    DataSet::Html,
    DataSet::Pdf,
];

/// Categories 13.1 to 13.7: the offers (`server_no_context_takeover`, `server_max_window_bits`),
/// each also accepting the server's `client_no_context_takeover` and `client_max_window_bits`.
fn parameter_offers() -> [Vec<Offer>; 7] {
    [
        vec![Offer::autobahn(false, None)],
        vec![Offer::autobahn(true, None)],
        vec![Offer::autobahn(false, Some(8))],
        vec![Offer::autobahn(false, Some(15))],
        vec![Offer::autobahn(true, Some(8))],
        vec![Offer::autobahn(true, Some(15))],
        vec![
            Offer::autobahn(true, Some(8)),
            Offer::autobahn(true, None),
            Offer::autobahn(false, None),
        ],
    ]
}

/// One compression case.
fn compression_case(id: String, data: DataSet, offers: Vec<Offer>, size: (usize, usize)) -> Case {
    let (len, fragment) = size;
    let count = messages(len);
    let fragment_words = match fragment {
        0 => "one frame each".to_string(),
        n => format!("the compressed payload in frames of {n} bytes"),
    };
    let mut c = case(
        &id,
        &format!(
            "Send {count} compressed messages (Autobahn: 1000) of {len} bytes of {}, {fragment_words}, \
             each after the echo of the last. Offer: {}.",
            data.words(),
            offer_header(&offers),
        ),
        "The server accepts permessage-deflate within RFC 7692 (none accepted: unimplemented) and \
         echoes every message, which inflates to what was sent, with the context and window agreed.",
    );
    c.volume = count * len;
    c.deflate = offers;
    c.send(Step::DeflateRoundTrips(DeflateRun {
        count,
        len,
        binary: data.binary(),
        fragment: (fragment > 0).then_some(fragment),
        data: data.corpus(),
    }))
    .expect(vec![Expected::RoundTrips(count)])
}

/// Categories 12 and 13.
pub(super) fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for (set, data) in DATA_SETS.into_iter().enumerate() {
        for (i, size) in SIZES.into_iter().enumerate() {
            let id = format!("12.{}.{}", set + 1, i + 1);
            cases.push(compression_case(
                id,
                data,
                vec![Offer::autobahn(false, None)],
                size,
            ));
        }
    }
    for (sub, offers) in parameter_offers().into_iter().enumerate() {
        for (i, size) in SIZES.into_iter().enumerate() {
            let id = format!("13.{}.{}", sub + 1, i + 1);
            cases.push(compression_case(id, DataSet::Json, offers.clone(), size));
        }
    }
    cases
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn autobahns_sizes_with_fewer_messages() {
        assert_eq!(messages(16), 64);
        assert_eq!(messages(8192), 64);
        assert_eq!(messages(16384), 32);
        assert_eq!(messages(131072), 4);
        let cases = cases();
        assert_eq!(cases.len(), 5 * 18 + 7 * 18);
        let last = cases.iter().find(|c| c.id == "12.5.18").unwrap();
        assert!(
            last.description.contains("131072 bytes of PDF"),
            "{}",
            last.description
        );
        assert!(last.description.contains("frames of 32768 bytes"));
        let multi = cases.iter().find(|c| c.id == "13.7.1").unwrap();
        assert_eq!(multi.deflate.len(), 3);
        assert!(
            multi
                .description
                .contains("server_max_window_bits=8, permessage-deflate"),
            "{}",
            multi.description
        );
    }
}
