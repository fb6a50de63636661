//! What an HTTP transaction carries, read from its URL, its declared content
//! type and the sniffed magic of its body: the facts every HTTP detector
//! shares.

use std::net::IpAddr;

use picket_event::HttpEvent;

/// The kind of file a URL extension, a content type or body magic points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// An HTML page or a server-side page script (`.php`, `.asp`) that renders one.
    Html,
    /// A picture (`.jpg`, `image/*`).
    Image,
    /// Style sheets, plain text, JSON, XML and other page resources.
    Text,
    /// Browser JavaScript (`.js`, `application/javascript`).
    JavaScript,
    /// A Windows PE, ELF or Mach-O executable, or an MSI installer.
    Executable,
    /// A script Windows or a shell runs outside the browser (`.ps1`, `.vbs`,
    /// `.hta`, `.bat`, `.sh`).
    Script,
    /// A Java archive or class file.
    JavaArchive,
    /// A PDF document.
    Pdf,
    /// A Flash movie.
    Flash,
    /// A Silverlight application package.
    Silverlight,
    /// A compressed archive that may hold executables (`.zip`, `.rar`, `.7z`, `.cab`).
    Archive,
    /// Binary data of no stated kind (`application/octet-stream`).
    OpaqueBinary,
    /// Audio, video and fonts.
    Media,
}

impl FileKind {
    /// The lower-case name used in alert details.
    pub fn name(self) -> &'static str {
        match self {
            FileKind::Html => "html",
            FileKind::Image => "image",
            FileKind::Text => "text",
            FileKind::JavaScript => "javascript",
            FileKind::Executable => "executable",
            FileKind::Script => "script",
            FileKind::JavaArchive => "java_archive",
            FileKind::Pdf => "pdf",
            FileKind::Flash => "flash",
            FileKind::Silverlight => "silverlight",
            FileKind::Archive => "archive",
            FileKind::OpaqueBinary => "binary",
            FileKind::Media => "media",
        }
    }

    /// True for kinds that run code on the client outside the browser's
    /// sandbox, the payloads of a drive-by download.
    pub fn is_payload(self) -> bool {
        matches!(
            self,
            FileKind::Executable | FileKind::Script | FileKind::OpaqueBinary | FileKind::Archive
        )
    }

    /// True for the plug-in formats exploit kits deliver their exploits in.
    pub fn is_exploit_carrier(self) -> bool {
        matches!(
            self,
            FileKind::JavaArchive | FileKind::Pdf | FileKind::Flash | FileKind::Silverlight
        )
    }

    /// True for kinds a browser renders or feeds to a page, whose URL a
    /// payload pretends to have.
    pub fn is_page_like(self) -> bool {
        matches!(
            self,
            FileKind::Html | FileKind::Image | FileKind::Text | FileKind::JavaScript
        )
    }
}

/// Maps a file-name extension (without the dot, any case) to its kind.
pub fn kind_of_extension(ext: &str) -> Option<FileKind> {
    let mut lower = [0u8; 8];
    let bytes = ext.as_bytes();
    if bytes.is_empty() || bytes.len() > lower.len() {
        return None;
    }
    for (dst, src) in lower.iter_mut().zip(bytes) {
        *dst = src.to_ascii_lowercase();
    }
    let kind = match &lower[..bytes.len()] {
        b"html" | b"htm" | b"shtml" | b"xhtml" | b"php" | b"asp" | b"aspx" | b"jsp" | b"cfm" => {
            FileKind::Html
        }
        b"jpg" | b"jpeg" | b"gif" | b"png" | b"bmp" | b"ico" | b"webp" | b"svg" => FileKind::Image,
        b"css" | b"txt" | b"json" | b"xml" | b"csv" | b"rss" => FileKind::Text,
        b"js" | b"mjs" => FileKind::JavaScript,
        b"exe" | b"dll" | b"scr" | b"msi" | b"com" | b"sys" | b"elf" | b"bin" | b"cpl" | b"ocx" => {
            FileKind::Executable
        }
        b"ps1" | b"vbs" | b"vbe" | b"hta" | b"bat" | b"cmd" | b"wsf" | b"jse" | b"sh" | b"lnk" => {
            FileKind::Script
        }
        b"jar" | b"class" | b"jnlp" => FileKind::JavaArchive,
        b"pdf" => FileKind::Pdf,
        b"swf" => FileKind::Flash,
        b"xap" => FileKind::Silverlight,
        b"zip" | b"rar" | b"7z" | b"cab" | b"gz" | b"tgz" | b"iso" | b"img" => FileKind::Archive,
        b"mp3" | b"mp4" | b"webm" | b"ogg" | b"wav" | b"woff" | b"woff2" | b"ttf" | b"eot" => {
            FileKind::Media
        }
        _ => return None,
    };
    Some(kind)
}

/// Maps a declared `Content-Type` (parameters already removed, any case)
/// to its kind; `None` for types that say nothing useful.
pub fn kind_of_content_type(content_type: &str) -> Option<FileKind> {
    // The types on nearly every line of a proxy log, as sources deliver
    // them (bare and lower case), before any trimming or the long match.
    match content_type {
        "text/html" => return Some(FileKind::Html),
        "image/jpeg" | "image/png" | "image/gif" | "image/webp" => return Some(FileKind::Image),
        "application/javascript" | "text/javascript" => return Some(FileKind::JavaScript),
        "text/css" | "application/json" | "text/plain" => return Some(FileKind::Text),
        "" | "-" => return None,
        _ => {}
    }

    let ct = content_type.trim();
    let ct = match parameters_start(ct) {
        Some(i) => ct[..i].trim(),
        None => ct,
    };
    if ct.is_empty() || ct == "-" {
        return None;
    }

    // Sources deliver content types in lower case; only other callers pay
    // for a copy.
    let lower: std::borrow::Cow<'_, str> = if ct.bytes().any(|b| b.is_ascii_uppercase()) {
        ct.to_ascii_lowercase().into()
    } else {
        ct.into()
    };
    let kind = match lower.as_ref() {
        "text/html" | "application/xhtml+xml" => FileKind::Html,
        "text/css"
        | "text/plain"
        | "application/json"
        | "text/xml"
        | "application/xml"
        | "text/csv"
        | "application/rss+xml" => FileKind::Text,
        "application/javascript"
        | "text/javascript"
        | "application/x-javascript"
        | "application/ecmascript" => FileKind::JavaScript,
        "application/x-msdownload"
        | "application/x-msdos-program"
        | "application/x-dosexec"
        | "application/x-executable"
        | "application/vnd.microsoft.portable-executable"
        | "application/x-ms-installer"
        | "application/x-msi"
        | "application/x-elf"
        | "application/x-sharedlib"
        | "application/x-mach-binary"
        | "application/exe"
        | "application/x-exe" => FileKind::Executable,
        "application/x-sh"
        | "application/x-bat"
        | "application/x-powershell"
        | "text/vbscript"
        | "application/hta"
        | "application/x-ms-shortcut" => FileKind::Script,
        "application/java-archive"
        | "application/x-java-archive"
        | "application/x-java-applet"
        | "application/java-vm"
        | "application/x-java-jnlp-file"
        | "application/java" => FileKind::JavaArchive,
        "application/pdf" | "application/x-pdf" => FileKind::Pdf,
        "application/x-shockwave-flash" | "application/vnd.adobe.flash-movie" => FileKind::Flash,
        "application/x-silverlight-app" | "application/x-silverlight" => FileKind::Silverlight,
        "application/zip"
        | "application/x-zip-compressed"
        | "application/x-rar-compressed"
        | "application/vnd.rar"
        | "application/x-7z-compressed"
        | "application/vnd.ms-cab-compressed"
        | "application/x-gzip"
        | "application/gzip" => FileKind::Archive,
        "application/octet-stream"
        | "application/binary"
        | "application/x-binary"
        | "binary/octet-stream"
        | "application/force-download"
        | "application/x-download"
        | "application/download" => FileKind::OpaqueBinary,
        _ if lower.starts_with("image/") => FileKind::Image,
        _ if lower.starts_with("audio/")
            || lower.starts_with("video/")
            || lower.starts_with("font/") =>
        {
            FileKind::Media
        }
        _ => return None,
    };
    Some(kind)
}

/// Position of the first `;` (the start of content-type parameters).
fn parameters_start(text: &str) -> Option<usize> {
    text.bytes().position(|b| b == b';')
}

/// Maps a sniffed body type, as decoders name it (`pe`, `elf`, `zip`,
/// `pdf`, `swf`, `html`, ...), to its kind.
pub fn kind_of_sniffed(sniffed: &str) -> Option<FileKind> {
    let mut buffer = [0u8; 12];
    let bytes = sniffed.as_bytes();
    if bytes.len() > buffer.len() {
        return None;
    }
    for (dst, src) in buffer.iter_mut().zip(bytes) {
        *dst = src.to_ascii_lowercase();
    }
    let lower = std::str::from_utf8(&buffer[..bytes.len()]).ok()?;
    let kind = match lower {
        "pe" | "exe" | "dll" | "elf" | "macho" | "mach-o" | "msi" | "ole" => FileKind::Executable,
        "jar" | "class" => FileKind::JavaArchive,
        "pdf" => FileKind::Pdf,
        "swf" | "cws" | "fws" | "zws" => FileKind::Flash,
        "xap" => FileKind::Silverlight,
        "zip" | "rar" | "7z" | "cab" | "gzip" | "gz" => FileKind::Archive,
        "html" | "xml" => FileKind::Html,
        "jpeg" | "jpg" | "png" | "gif" | "bmp" | "ico" | "webp" => FileKind::Image,
        "text" | "json" | "css" => FileKind::Text,
        "javascript" | "js" => FileKind::JavaScript,
        "script" | "ps1" | "vbs" | "hta" | "bat" | "sh" => FileKind::Script,
        _ => return None,
    };
    Some(kind)
}

/// The extension of the last path segment, without the dot; `None` when the
/// segment has no dot or the extension is longer than 8 characters.
pub fn path_extension(path: &str) -> Option<&str> {
    let path = path.split(['?', '#', ';']).next().unwrap_or(path);
    let segment = path.rsplit('/').next().unwrap_or(path);
    let (_, ext) = segment.rsplit_once('.')?;
    (!ext.is_empty() && ext.len() <= 8 && ext.bytes().all(|b| b.is_ascii_alphanumeric()))
        .then_some(ext)
}

/// The URL path of an event: its parsed `path`, else the path part of the
/// logged URL.
pub fn event_path(event: &HttpEvent) -> &str {
    if let Some(path) = event.path.as_deref() {
        return path;
    }
    let url = event.url.as_str();
    let after_scheme = match url.find("://") {
        Some(i) => &url[i + 3..],
        None => return url.split('?').next().unwrap_or(url),
    };
    match after_scheme.find('/') {
        Some(i) => {
            let rest = &after_scheme[i..];
            rest.split('?').next().unwrap_or(rest)
        }
        None => "/",
    }
}

/// Kind claimed by the URL: the extension of the path, else of the file
/// name a log or a `Content-Disposition` header gave.
pub fn url_kind(event: &HttpEvent) -> Option<FileKind> {
    path_extension(event_path(event)).and_then(kind_of_extension)
}

/// Kind claimed by the `Content-Disposition` file name.
pub fn file_name_kind(event: &HttpEvent) -> Option<FileKind> {
    event
        .file_name
        .as_deref()
        .and_then(path_extension)
        .and_then(kind_of_extension)
}

/// Kind declared by the response's content type.
pub fn declared_kind(event: &HttpEvent) -> Option<FileKind> {
    event.content_type.as_deref().and_then(kind_of_content_type)
}

/// Kind sniffed from the response body's first bytes.
pub fn sniffed_kind(event: &HttpEvent) -> Option<FileKind> {
    event
        .body
        .as_ref()
        .and_then(|b| b.sniffed_type.as_deref())
        .and_then(kind_of_sniffed)
}

/// The best evidence of what the response really delivered: sniffed magic
/// first, then a file name, then the declared type, then the URL.
pub fn delivered_kind(event: &HttpEvent) -> Option<FileKind> {
    sniffed_kind(event)
        .or_else(|| file_name_kind(event))
        .or_else(|| declared_kind(event))
        .or_else(|| url_kind(event))
}

/// True when the transaction delivered a response body to the client: a
/// `GET` or `POST` (or a log without methods) with a 2xx status (or none
/// logged). FTP verbs in W3C logs (`created`, `sent`) and `HEAD` are not
/// downloads.
pub fn delivered(event: &HttpEvent) -> bool {
    let download_method = event
        .method
        .as_deref()
        .is_none_or(|m| m.eq_ignore_ascii_case("GET") || m.eq_ignore_ascii_case("POST"));
    let success = match event.status {
        Some(status) => (200..300).contains(&status),
        None => true,
    };
    download_method && success
}

/// The host as an IP address, when it is one (IPv6 may be bracketed).
pub fn host_ip(host: &str) -> Option<IpAddr> {
    picket_event::host::parse_ip(host)
}

/// True for an address that is private, loopback, link-local or otherwise
/// not routable on the internet.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

/// The registrable domain (`example.co.uk` for `www.example.co.uk`) by the
/// public suffix list; the host itself for IP addresses and unknown suffixes.
pub fn registrable_domain(host: &str) -> &str {
    if host_ip(host).is_some() {
        return host;
    }
    psl::domain_str(host).unwrap_or(host)
}

/// True when `host` is `suffix` or ends in `.suffix` (both lower case).
pub fn host_has_suffix(host: &str, suffix: &str) -> bool {
    let suffix = suffix.trim_start_matches('.');
    host == suffix
        || (host.len() > suffix.len()
            && host.ends_with(suffix)
            && host.as_bytes()[host.len() - suffix.len() - 1] == b'.')
}

/// The host of a URL (a referrer, say), lower case, without port or user info.
pub fn url_host(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    let host = if authority.starts_with('[') {
        authority
            .split(']')
            .next()
            .map(|h| h.trim_start_matches('['))?
    } else {
        authority.split(':').next()?
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// Why a URL path looks machine-made, or `None` when it looks written by people.
///
/// Exploit kits and C2 panels use long hex or random mixed-case segments
/// (`/IEyF/EN3GUkgHakZ3iVe/YBqssWlF8iWaHTr/`, `/<32 hex>/q.php`); sites
/// written by people use words and short numbers.
pub fn random_path_reason(path: &str) -> Option<&'static str> {
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let mut random_segments = 0usize;
    let mut segments = 0usize;
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        segments += 1;
        let stem = segment.split('.').next().unwrap_or(segment);
        if is_long_hex(stem) {
            return Some("long hex path segment");
        }
        if is_random_token(stem) {
            random_segments += 1;
        }
    }
    (random_segments >= 2 || (segments == 1 && random_segments == 1))
        .then_some("random mixed-case path segments")
}

/// True for a run of at least 24 hexadecimal digits, the shape of a hash or
/// an exploit-kit session token.
pub fn is_long_hex(segment: &str) -> bool {
    segment.len() >= 24 && segment.bytes().all(|b| b.is_ascii_hexdigit())
}

/// True for a segment of 8 or more letters and digits that mixes upper and
/// lower case (or case and digits) often, as generated tokens do.
pub fn is_random_token(segment: &str) -> bool {
    let bytes = segment.as_bytes();
    if bytes.len() < 8 || !bytes.iter().all(|b| b.is_ascii_alphanumeric()) {
        return false;
    }
    let upper = bytes.iter().filter(|b| b.is_ascii_uppercase()).count();
    let lower = bytes.iter().filter(|b| b.is_ascii_lowercase()).count();
    let digits = bytes.iter().filter(|b| b.is_ascii_digit()).count();
    let classes = [upper, lower, digits].iter().filter(|&&n| n > 0).count();
    if classes < 2 {
        return false;
    }

    // Count changes of character class: words (CamelCase, "page2") change
    // rarely, generated tokens change every few characters.
    let class_of = |b: u8| {
        if b.is_ascii_uppercase() {
            0
        } else if b.is_ascii_lowercase() {
            1
        } else {
            2
        }
    };
    let changes = bytes
        .windows(2)
        .filter(|w| class_of(w[0]) != class_of(w[1]))
        .count();
    let interior_upper = bytes[1..].iter().filter(|b| b.is_ascii_uppercase()).count();
    changes * 4 >= bytes.len() && (interior_upper >= 2 || digits >= 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_of_paths() {
        assert_eq!(path_extension("/a/b/c.EXE"), Some("EXE"));
        assert_eq!(path_extension("/a/b.c/page"), None);
        assert_eq!(path_extension("/x.jpg?y=1.exe"), Some("jpg"));
        assert_eq!(path_extension("/"), None);
        assert_eq!(path_extension("/file."), None);
    }

    #[test]
    fn content_types_map_to_kinds() {
        assert_eq!(
            kind_of_content_type("application/x-msdownload"),
            Some(FileKind::Executable)
        );
        assert_eq!(
            kind_of_content_type("Text/HTML; charset=utf-8"),
            Some(FileKind::Html)
        );
        assert_eq!(kind_of_content_type("image/jpeg"), Some(FileKind::Image));
        assert_eq!(kind_of_content_type("-"), None);
        assert_eq!(kind_of_content_type("application/x-unknown-thing"), None);
    }

    #[test]
    fn random_paths_are_recognised() {
        assert!(random_path_reason("/IEyF/EN3GUkgHakZ3iVe/YBqssWlF8iWaHTr/").is_some());
        assert!(random_path_reason("/0123456789abcdef0123456789abcdef/q.php").is_some());
        assert!(random_path_reason("/c2sock").is_none());
        assert!(random_path_reason("/news/2024/index.html").is_none());
        assert!(random_path_reason("/WindowsUpdate/GetUpdates").is_none());
        assert!(random_path_reason("/images/logo2.png").is_none());
    }

    #[test]
    fn hosts_and_suffixes() {
        assert!(host_has_suffix("a.windowsupdate.com", "windowsupdate.com"));
        assert!(host_has_suffix("windowsupdate.com", ".windowsupdate.com"));
        assert!(!host_has_suffix(
            "evilwindowsupdate.com",
            "windowsupdate.com"
        ));
        assert_eq!(
            url_host("http://User@WWW.Example.com:8080/x"),
            Some("www.example.com".into())
        );
        assert_eq!(
            url_host("http://[2001:db8::1]:80/"),
            Some("2001:db8::1".into())
        );
        assert!(host_ip("[2001:db8::1]").is_some());
        assert_eq!(registrable_domain("www.example.co.uk"), "example.co.uk");
    }

    #[test]
    fn internal_addresses() {
        assert!(is_internal("10.1.2.3".parse().unwrap()));
        assert!(is_internal("100.64.0.1".parse().unwrap()));
        assert!(!is_internal("45.9.74.78".parse().unwrap()));
        assert!(is_internal("fd00::1".parse().unwrap()));
    }
}
