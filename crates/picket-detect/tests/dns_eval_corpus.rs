//! The DNS detectors measured on the public corpus, with the targets they
//! must keep.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use picket_detect::dns::eval::{EvalRow, evaluate_dga, evaluate_tunnel_names};

fn find<'a>(rows: &'a [EvalRow], corpus: &str, method: &str) -> &'a EvalRow {
    rows.iter()
        .find(|r| r.corpus == corpus && r.method == method)
        .unwrap_or_else(|| panic!("no row for {corpus} {method}"))
}

fn print(rows: &[EvalRow]) {
    for r in rows {
        println!(
            "{:<14} {:<36} {:<7} pos {:>5} tp {:>5} recall {:.4} neg {:>5} fp {:>4} fpr {:.4} auc {}",
            r.detector,
            r.corpus,
            r.method,
            r.positives,
            r.true_positives,
            r.recall(),
            r.negatives,
            r.false_positives,
            r.false_positive_rate(),
            r.auc.map_or("-".to_owned(), |a| format!("{a:.4}"))
        );
    }
}

#[test]
fn dga_on_baderj_families() {
    let dga = picket_corpus::require_corpus!("dga/baderj");
    let benign = picket_corpus::require_corpus!("benign-and-warninglists/misp-warninglists");
    let rows = evaluate_dga(&dga, &benign).unwrap();
    print(&rows);

    // Every row is measured on the held-out split only: three in ten labels,
    // popular and DGA, that training never saw.
    let held_out_benign = find(&rows, "all character-based families", "score").negatives;
    assert!(held_out_benign > 3_000, "{held_out_benign}");

    // False positives on held-out popular domains stay at or under 0.5 %,
    // judged by the name alone and by replay.
    for method in ["score", "replay"] {
        let row = find(&rows, "all character-based families", method);
        assert!(
            row.false_positive_rate() <= 0.005,
            "{method}: FPR {}",
            row.false_positive_rate()
        );
    }

    // By the name alone, character-based families: measured 0.864 recall,
    // AUC 0.993. Short names on many suffixes (qsnatch_a: 3 to 5 letters)
    // keep recall under the 98 % target. Replayed as one host's failing
    // lookups, the NXDOMAIN shape and the alert listing the names held past
    // the per-window limit add the rest (measured 0.991).
    let score = find(&rows, "all character-based families", "score");
    assert!(score.recall() >= 0.85, "score recall {}", score.recall());
    // qsnatch_a lists 18 names with an empty label (`exaor..com.bn`), which
    // no query can carry. They are left out of both classes and counted.
    assert_eq!(find(&rows, "qsnatch_a", "score").invalid, 18);
    assert_eq!(score.invalid, 18);
    assert!(score.auc.unwrap() >= 0.99, "AUC {:?}", score.auc);
    let replay = find(&rows, "all character-based families", "replay");
    assert!(
        replay.recall() >= 0.985,
        "replay recall {}",
        replay.recall()
    );

    // Dictionary families, measured apart: 0.896 by name, 0.981 by replay.
    let dictionary = find(&rows, "all dictionary families", "score");
    assert!(
        dictionary.recall() >= 0.88,
        "recall {}",
        dictionary.recall()
    );
    let dictionary = find(&rows, "all dictionary families", "replay");
    assert!(
        dictionary.recall() >= 0.98,
        "recall {}",
        dictionary.recall()
    );

    // Character-random families separate from popular names.
    for family in [
        "bumblebee",
        "chinad",
        "corebot",
        "darkcracks",
        "dmsniff_al",
        "dmsniff_sn",
        "fobber_1",
        "fobber_2",
        "kraken_v1",
        "kraken_v2",
        "murofet_v1",
        "murofet_v2",
        "newgoz",
        "orchard",
        "pushdo",
        "pykspa_precursor",
        "qadars",
        "ranbyus_september",
        "reconyc",
        "shiotob",
        "simda",
        "tempedreve",
        "tufik",
        "unnamed_downloader",
    ] {
        let row = find(&rows, family, "score");
        let auc = row.auc.unwrap();
        assert!(auc >= 0.99, "{family}: AUC {auc}");
    }
}

#[test]
fn tunnel_on_netrack_names() {
    let dir = picket_corpus::require_corpus!("dns-tunnel/netrack-learn");
    let rows = evaluate_tunnel_names(&dir).unwrap();
    print(&rows);
    for tool in ["netrack-learn iodine", "netrack-learn dns2tcp"] {
        let row = find(&rows, tool, "replay");
        assert!(row.recall() >= 0.99, "{tool}: recall {}", row.recall());
        assert!(
            row.false_positive_rate() < 0.001,
            "{tool}: FPR {}",
            row.false_positive_rate()
        );
    }
}
