//! Where a console's live stream stands: the last message and history-event ids it was shown,
//! and the ids below them that were missing then. An id is taken when a row is inserted but
//! shows only when its transaction commits, so a row can appear *below* ids already shown (two
//! webhooks stored at once, the first committing last). Those gaps are kept in the cursor and
//! looked at again on every poll, for a while, so such a row still reaches the console.
//! Most gaps are ids that were never used (a rolled-back insert, a duplicate webhook): they are
//! forgotten after `GAP_WAIT_SECS`.

use crate::error::{Error, Result};

/// How long a missing id is waited for: well beyond any of our transactions.
pub const GAP_WAIT_SECS: i64 = 30;
/// Gaps a cursor carries at most (the newest are kept): it stays short enough for a URL.
const MAX_GAPS: usize = 16;
/// Ranges longer than this are not searched for gaps (a console that slept through a burst).
pub const MAX_GAP_SCAN: i64 = 2000;

/// The two tables a stream follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Messages,
    Events,
}

impl Stream {
    fn tag(self) -> char {
        match self {
            Stream::Messages => 'm',
            Stream::Events => 'e',
        }
    }
}

/// An id not seen yet below the cursor, and when it was first missed (Unix seconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Gap {
    stream: Stream,
    id: i64,
    since: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamCursor {
    pub messages: i64,
    pub events: i64,
    gaps: Vec<Gap>,
}

impl StreamCursor {
    pub fn new(messages: i64, events: i64) -> Self {
        StreamCursor {
            messages,
            events,
            gaps: Vec::new(),
        }
    }

    /// `<message id>.<event id>` followed by `.m<id>-<since>` / `.e<id>-<since>` per gap; the
    /// cursors of earlier versions (`<m>.<e>`) still parse.
    pub fn parse(text: &str) -> Result<Self> {
        let bad = || Error::invalid("cursor", "is not a cursor events.poll returned");
        let mut parts = text.split('.');
        let mut number = || -> Result<i64> {
            parts
                .next()
                .and_then(|p| p.parse().ok())
                .filter(|n: &i64| *n >= 0)
                .ok_or_else(bad)
        };
        let mut cursor = StreamCursor::new(number()?, number()?);
        for part in text.split('.').skip(2) {
            let stream = match part.chars().next() {
                Some('m') => Stream::Messages,
                Some('e') => Stream::Events,
                _ => return Err(bad()),
            };
            let (id, since) = part[1..].split_once('-').ok_or_else(bad)?;
            let gap = Gap {
                stream,
                id: id.parse().map_err(|_| bad())?,
                since: since.parse().map_err(|_| bad())?,
            };
            if gap.id <= 0 || gap.id >= cursor.top(stream) || cursor.gaps.len() >= MAX_GAPS {
                return Err(bad());
            }
            cursor.gaps.push(gap);
        }
        Ok(cursor)
    }

    pub fn top(&self, stream: Stream) -> i64 {
        match stream {
            Stream::Messages => self.messages,
            Stream::Events => self.events,
        }
    }

    /// The ids still missing below the cursor in `stream`.
    pub fn gaps(&self, stream: Stream) -> Vec<i64> {
        self.gaps
            .iter()
            .filter(|g| g.stream == stream)
            .map(|g| g.id)
            .collect()
    }

    /// Forgets gaps waited for long enough.
    pub fn expire(&mut self, now_secs: i64) {
        self.gaps.retain(|g| now_secs - g.since < GAP_WAIT_SECS);
    }

    /// These ids showed up: no longer gaps.
    pub fn filled(&mut self, stream: Stream, ids: &[i64]) {
        self.gaps
            .retain(|g| !(g.stream == stream && ids.contains(&g.id)));
    }

    /// Moves `stream` up to `upto`; `present` are the ids that exist in (top, upto] (all of
    /// them, whoever may see them), so the others become gaps. A range too long to scan adds none.
    pub fn advance(&mut self, stream: Stream, upto: i64, present: &[i64], now_secs: i64) {
        let from = self.top(stream);
        if upto <= from {
            return;
        }
        if upto - from <= MAX_GAP_SCAN {
            let mut present = present.iter().copied().peekable();
            for id in from + 1..upto {
                while present.next_if(|p| *p < id).is_some() {}
                if present.next_if_eq(&id).is_none() {
                    self.gaps.push(Gap {
                        stream,
                        id,
                        since: now_secs,
                    });
                }
            }
            if self.gaps.len() > MAX_GAPS {
                // The newest gaps are the likeliest to fill.
                self.gaps.sort_by_key(|g| (g.since, g.id));
                let extra = self.gaps.len() - MAX_GAPS;
                self.gaps.drain(..extra);
            }
        }
        match stream {
            Stream::Messages => self.messages = upto,
            Stream::Events => self.events = upto,
        }
    }
}

impl std::fmt::Display for StreamCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.messages, self.events)?;
        for g in &self.gaps {
            write!(f, ".{}{}-{}", g.stream.tag(), g.id, g.since)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_cursor_of_earlier_versions_still_parses() {
        let c = StreamCursor::parse("105.230").unwrap();
        assert_eq!((c.messages, c.events), (105, 230));
        assert_eq!(c.to_string(), "105.230");
    }

    #[test]
    fn missing_ids_become_gaps_until_they_show_or_expire() {
        let mut c = StreamCursor::new(10, 5);
        // 11 and 13 exist, 12 does not (yet).
        c.advance(Stream::Messages, 13, &[11, 13], 1000);
        assert_eq!(c.messages, 13);
        assert_eq!(c.gaps(Stream::Messages), [12]);
        let text = c.to_string();
        assert_eq!(text, "13.5.m12-1000");
        let mut back = StreamCursor::parse(&text).unwrap();
        assert_eq!(back, c);
        back.filled(Stream::Messages, &[12]);
        assert!(back.gaps(Stream::Messages).is_empty());
        c.expire(1000 + GAP_WAIT_SECS);
        assert!(c.gaps(Stream::Messages).is_empty(), "waited long enough");
    }

    #[test]
    fn a_long_jump_is_not_scanned_and_gaps_stay_few() {
        let mut c = StreamCursor::new(0, 0);
        c.advance(Stream::Events, MAX_GAP_SCAN + 10, &[], 1);
        assert!(c.gaps(Stream::Events).is_empty());
        let mut c = StreamCursor::new(0, 0);
        c.advance(Stream::Messages, 100, &[100], 1);
        assert_eq!(c.gaps(Stream::Messages).len(), MAX_GAPS);
        assert_eq!(
            c.gaps(Stream::Messages)[MAX_GAPS - 1],
            99,
            "the newest kept"
        );
        assert!(c.to_string().len() < 400);
    }

    #[test]
    fn forged_cursors_are_refused() {
        for bad in [
            "", "1", "a.b", "-1.2", "5.5.x3-1", "5.5.m7-1", "5.5.m3", "5.5.m0-1",
        ] {
            assert!(StreamCursor::parse(bad).is_err(), "{bad}");
        }
    }
}
