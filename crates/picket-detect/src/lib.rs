//! Behavioural detectors over DNS and HTTP events: DGA, tunnels, fast flux, sinkholes, drive-by chains, beacons.
#![deny(missing_docs)]
