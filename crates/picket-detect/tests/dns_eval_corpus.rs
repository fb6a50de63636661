//! The DNS detectors measured on the public corpus, with the targets they
//! must keep.

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
}

#[test]
fn tunnel_on_netrack_names() {
    let dir = picket_corpus::require_corpus!("dns-tunnel/netrack-learn");
    let rows = evaluate_tunnel_names(&dir).unwrap();
    print(&rows);
}
