//! Names and answer data of any bytes fed to every DNS detector, and any text
//! parsed as a DGA model file: no panic, every score in [0, 1].
#![no_main]

use libfuzzer_sys::fuzz_target;
use picket_detect::dns::model::DgaModel;
use picket_detect::dns::{DnsConfig, detectors};
use picket_event::dns::ResponseCode;
use picket_event::{DnsEvent, Event, RecordType, ResourceRecord, Timestamp};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = DgaModel::parse(&text);

    let mut all = detectors(&DnsConfig::default());
    let mut alerts = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let (name, rdata) = line.split_once(' ').unwrap_or((line, line));
        let flavour = line.len() % 4;
        let event = Event::Dns(DnsEvent {
            timestamp: Timestamp::from_nanos(i as i64 * 1_000_000_000),
            client_ip: Some(std::net::IpAddr::from([10, 0, 0, (i % 7) as u8])),
            query_name: name.to_ascii_lowercase(),
            query_name_original: Some(name.to_owned()),
            query_type: Some(RecordType(u16::try_from(line.len()).unwrap_or(16))),
            rcode: Some(if flavour == 0 { ResponseCode::NXDOMAIN } else { ResponseCode::NOERROR }),
            answers: vec![ResourceRecord {
                name: name.to_owned(),
                rtype: [RecordType::A, RecordType::AAAA, RecordType::NS, RecordType::CNAME][flavour],
                class: 1,
                ttl: line.len() as u32,
                data: rdata.to_owned(),
            }],
            ..DnsEvent::default()
        });
        for detector in &mut all {
            detector.observe(&event, &[], &mut alerts);
        }
    }
    for detector in &mut all {
        detector.finish(&mut alerts);
    }
    assert!(alerts.iter().all(|a| (0.0..=1.0).contains(&a.score)));
});
