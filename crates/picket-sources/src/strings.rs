//! Spare string buffers, so that a reader filling one event after another
//! copies each field into the previous event's allocations instead of new
//! ones.

use picket_event::HttpEvent;

/// Most buffers kept: more than any event has string fields.
const MAX_SPARE: usize = 40;

/// A stack of emptied string buffers.
#[derive(Debug, Default)]
pub struct Strings {
    spare: Vec<String>,
}

impl Strings {
    /// Returns `text` in a spare buffer, or in a new string when none is left.
    #[inline]
    pub fn copy(&mut self, text: &str) -> String {
        match self.spare.pop() {
            Some(mut buffer) => {
                buffer.push_str(text);
                buffer
            }
            None => text.to_owned(),
        }
    }

    /// Returns `text` with ASCII letters in lower case, in a spare buffer.
    #[inline]
    pub fn lower(&mut self, text: &str) -> String {
        let mut out = self.copy(text);
        out.make_ascii_lowercase();
        out
    }

    /// Takes back an unused string.
    #[inline]
    pub fn recycle(&mut self, mut buffer: String) {
        if self.spare.len() < MAX_SPARE && buffer.capacity() > 0 {
            buffer.clear();
            self.spare.push(buffer);
        }
    }

    /// Takes back every string buffer of `event` and resets every field to
    /// its default, except that the location stays for the caller to
    /// overwrite and the URL and anomaly list keep their buffers, emptied.
    pub fn recycle_http(&mut self, event: &mut HttpEvent) {
        // Listing every field (no `..`) makes a field added to the event a
        // compile error here rather than a value leaking into the next one.
        let HttpEvent {
            timestamp,
            location: _,
            client_ip,
            client_port,
            server_ip,
            server_port,
            user_name,
            method,
            url,
            scheme,
            host,
            port,
            path,
            query,
            version,
            user_agent,
            referrer,
            forwarded_for,
            real_ip,
            bytes_from_client,
            request_body_len,
            status,
            content_type,
            bytes_to_client,
            response_body_len,
            location_header,
            server_header,
            file_name,
            body,
            proxy_action,
            proxy_hierarchy,
            proxy_result_code,
            anomalies,
        } = event;

        for slot in [
            user_name,
            method,
            scheme,
            host,
            path,
            query,
            version,
            user_agent,
            referrer,
            forwarded_for,
            real_ip,
            content_type,
            location_header,
            server_header,
            file_name,
            proxy_action,
            proxy_hierarchy,
        ] {
            if let Some(buffer) = slot.take() {
                self.recycle(buffer);
            }
        }
        url.clear();
        anomalies.clear();

        *timestamp = Default::default();
        for slot in [client_ip, server_ip] {
            *slot = None;
        }
        for slot in [client_port, server_port, port, status] {
            *slot = None;
        }
        for slot in [
            bytes_from_client,
            request_body_len,
            bytes_to_client,
            response_body_len,
        ] {
            *slot = None;
        }
        *body = None;
        *proxy_result_code = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recycled_buffers_come_back_empty_and_event_resets() {
        let mut strings = Strings::default();
        let mut event = HttpEvent {
            url: "http://a.example/x".into(),
            host: Some("a.example".into()),
            status: Some(200),
            ..HttpEvent::default()
        };
        event.location.line = Some(7);
        strings.recycle_http(&mut event);
        assert_eq!(event.location.line, Some(7));
        event.location.line = None;

        assert!(event.url.capacity() >= "http://a.example/x".len());
        event.url.clear();
        assert_eq!(event, HttpEvent::default());

        let first = strings.copy("GET");
        assert_eq!(first, "GET");
        assert!(first.capacity() >= "a.example".len());
        assert_eq!(strings.lower("TCP_MISS"), "tcp_miss");
        strings.recycle(String::new());
        assert_eq!(strings.copy("x"), "x");
    }
}
