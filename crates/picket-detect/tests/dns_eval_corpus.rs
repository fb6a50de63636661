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

    // False positives on held-out popular domains stay at or under 0.5 %.
    let all = find(&rows, "all character-based families", "replay");
    assert!(
        all.false_positive_rate() <= 0.005,
        "FPR {}",
        all.false_positive_rate()
    );
    let score = find(&rows, "all character-based families", "score");
    assert!(
        score.false_positive_rate() <= 0.005,
        "FPR {}",
        score.false_positive_rate()
    );

    // Replayed as a host's failing lookups, most names are flagged. The 98 %
    // target is not reached yet (short names on many TLDs: qsnatch, locky,
    // pykspa); this pins what is reached.
    assert!(all.recall() >= 0.94, "recall {}", all.recall());
    let dictionary = find(&rows, "all dictionary families", "replay");
    assert!(
        dictionary.recall() >= 0.95,
        "recall {}",
        dictionary.recall()
    );

    // Long character-random families separate from popular names.
    for family in [
        "chinad",
        "corebot",
        "darkcracks",
        "murofet_v1",
        "newgoz",
        "qadars",
        "shiotob",
        "tufik",
        "fobber_1",
        "ranbyus_september",
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
