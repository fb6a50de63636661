//! A compact set of the DNS anomalies one message can carry.

use picket_event::Anomaly;

/// The message-level DNS anomalies, in the order [`AnomalySet::to_vec`] lists them.
const DNS_ANOMALIES: [Anomaly; 13] = [
    Anomaly::DnsTruncatedHeader,
    Anomaly::DnsBadLabelType,
    Anomaly::DnsCompressionLoop,
    Anomaly::DnsForwardPointer,
    Anomaly::DnsCompressionTooDeep,
    Anomaly::DnsNameTooLong,
    Anomaly::DnsTruncatedRecord,
    Anomaly::DnsBadRdata,
    Anomaly::DnsTrailingBytes,
    Anomaly::DnsZBitSet,
    Anomaly::DnsCountMismatch,
    Anomaly::DnsTooManyRecords,
    Anomaly::DnsUnsolicitedResponse,
];

/// A set of DNS anomalies kept as bits while a message is decoded, so that
/// recording one costs no allocation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct AnomalySet(u16);

impl AnomalySet {
    /// Adds an anomaly; anomalies outside the DNS message group are ignored.
    pub(crate) fn insert(&mut self, anomaly: Anomaly) {
        if let Some(index) = DNS_ANOMALIES.iter().position(|a| *a == anomaly) {
            self.0 |= 1 << index;
        }
    }

    /// Whether the set holds this anomaly.
    #[cfg(test)]
    pub(crate) fn contains(self, anomaly: Anomaly) -> bool {
        DNS_ANOMALIES
            .iter()
            .position(|a| *a == anomaly)
            .is_some_and(|index| self.0 & (1 << index) != 0)
    }

    /// The anomalies in a fixed order.
    pub(crate) fn to_vec(self) -> Vec<Anomaly> {
        if self.0 == 0 {
            return Vec::new();
        }
        DNS_ANOMALIES
            .iter()
            .enumerate()
            .filter(|(index, _)| self.0 & (1 << index) != 0)
            .map(|(_, anomaly)| *anomaly)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_keeps_dns_anomalies() {
        let mut set = AnomalySet::default();
        set.insert(Anomaly::DnsZBitSet);
        set.insert(Anomaly::DnsBadLabelType);
        set.insert(Anomaly::DnsZBitSet);
        set.insert(Anomaly::TcpGap);
        assert!(set.contains(Anomaly::DnsZBitSet));
        assert!(!set.contains(Anomaly::DnsCompressionLoop));
        assert_eq!(
            set.to_vec(),
            vec![Anomaly::DnsBadLabelType, Anomaly::DnsZBitSet]
        );
    }
}
