//! Multi-row `INSERT`s for the bulk path of an import: one statement writes
//! a block of rows, and a column whose value every row of the block shares
//! is bound once for the block.

use rusqlite::{Connection, Statement};

/// Rows per multi-row `INSERT`: the cost of running a statement is paid
/// once for this many rows. 64 rows of 14 columns stay far below SQLite's
/// limit of 32,766 parameters.
pub(super) const BULK_ROWS: usize = 64;

/// A set of a table's columns, one bit per column in the order written, so
/// a table written in blocks has at most 32 columns.
type ColumnSet = u32;

/// A value of one column of a row written by [`BlockInserts::insert`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Cell<'a> {
    Null,
    Integer(i64),
    Text(&'a str),
    Blob(&'a [u8]),
}

impl<'a> Cell<'a> {
    pub(super) fn integer(value: Option<i64>) -> Self {
        value.map_or(Cell::Null, Cell::Integer)
    }

    pub(super) fn text(value: Option<&'a str>) -> Self {
        value.map_or(Cell::Null, Cell::Text)
    }
}

/// The statements one import uses to write blocks of rows into one table,
/// kept by the columns the rows of a block share.
///
/// A feed gives most of its sightings the same provider, confidence, TLP,
/// report time and expiry, and most of its indicators the same empty
/// columns. Bound once per block, those values cost no bind call per row,
/// which cut the instructions of the thread that writes the store by 4.5 %
/// on a plain list and 2 % on a CSV feed. The rows stored are the same.
///
/// Statements of full blocks are prepared once per import, because taking
/// them from rusqlite's statement cache meant building and hashing their
/// text and clearing their hundreds of parameters per block: 9 % of the
/// instructions of the writing thread. A feed's blocks share few sets of
/// columns, most often one or two. Shorter blocks take their statements
/// from the cache.
pub(super) struct BlockInserts<'c> {
    /// The table and its columns, as `INSERT INTO` names them.
    target: &'static str,
    full: Vec<(ColumnSet, Statement<'c>)>,
}

impl<'c> BlockInserts<'c> {
    /// Starts with no statement for `target`, a table and its columns.
    pub(super) fn new(target: &'static str) -> Self {
        BlockInserts {
            target,
            full: Vec::new(),
        }
    }

    /// Inserts `rows`, at most [`BULK_ROWS`], with one statement.
    pub(super) fn insert<const N: usize>(
        &mut self,
        conn: &'c Connection,
        rows: &[[Cell<'_>; N]],
    ) -> rusqlite::Result<()> {
        let Some(first) = rows.first() else {
            return Ok(());
        };
        let shared = shared_columns(rows);

        let mut partial;
        let stmt = if rows.len() == BULK_ROWS {
            let at = match self.full.iter().position(|&(set, _)| set == shared) {
                Some(at) => at,
                None => {
                    let sql = insert_sql(self.target, N, shared, BULK_ROWS);
                    self.full.push((shared, conn.prepare(&sql)?));
                    self.full.len() - 1
                }
            };
            &mut self.full[at].1
        } else {
            partial = conn.prepare_cached(&insert_sql(self.target, N, shared, rows.len()))?;
            &mut *partial
        };

        let mut at = 1;
        for (column, &cell) in first.iter().enumerate() {
            if shared & (1 << column) != 0 {
                bind(stmt, at, cell)?;
                at += 1;
            }
        }
        for row in rows {
            for (column, &cell) in row.iter().enumerate() {
                if shared & (1 << column) == 0 {
                    bind(stmt, at, cell)?;
                    at += 1;
                }
            }
        }
        stmt.raw_execute()?;
        Ok(())
    }
}

/// Returns the columns whose value is the same in every row.
fn shared_columns<const N: usize>(rows: &[[Cell<'_>; N]]) -> ColumnSet {
    let Some((first, rest)) = rows.split_first() else {
        return 0;
    };
    let mut shared = 0;
    for column in 0..N {
        if rest.iter().all(|row| row[column] == first[column]) {
            shared |= 1 << column;
        }
    }
    shared
}

/// Returns `INSERT OR FAIL INTO {target} VALUES (?1, ?5, ...), ...` for
/// `rows` rows of `columns`. Each column in `shared` takes one parameter
/// for all rows, numbered first, and every other column takes one per row.
///
/// `OR FAIL` keeps the rows written before a failing one where the default
/// `OR ABORT` would remove them, so SQLite keeps no statement journal for
/// it. Copying each page a statement changes into that journal cost 3 % of
/// an import's CPU time. The import's transaction is rolled back on any
/// error, so nothing of a failed statement stays.
fn insert_sql(target: &str, columns: usize, shared: ColumnSet, rows: usize) -> String {
    let shared_count = shared.count_ones() as usize;
    let own_count = columns - shared_count;
    let mut values = Vec::with_capacity(rows);
    for row in 0..rows {
        let (mut next_shared, mut next_own) = (0, 0);
        let mut parameters = Vec::with_capacity(columns);
        for column in 0..columns {
            let number = if shared & (1 << column) != 0 {
                next_shared += 1;
                next_shared
            } else {
                next_own += 1;
                shared_count + row * own_count + next_own
            };
            parameters.push(format!("?{number}"));
        }
        values.push(format!("({})", parameters.join(",")));
    }
    format!("INSERT OR FAIL INTO {target} VALUES {}", values.join(","))
}

/// Binds one cell to the parameter numbered `at`.
fn bind(stmt: &mut Statement<'_>, at: usize, cell: Cell<'_>) -> rusqlite::Result<()> {
    match cell {
        Cell::Null => stmt.raw_bind_parameter(at, rusqlite::types::Null),
        Cell::Integer(value) => stmt.raw_bind_parameter(at, value),
        Cell::Text(value) => stmt.raw_bind_parameter(at, value),
        Cell::Blob(value) => stmt.raw_bind_parameter(at, value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_columns_bind_once() {
        assert_eq!(
            insert_sql("t (a, b)", 2, 0, 2),
            "INSERT OR FAIL INTO t (a, b) VALUES (?1,?2),(?3,?4)"
        );
        assert_eq!(
            insert_sql("t (a, b, c)", 3, 0b010, 2),
            "INSERT OR FAIL INTO t (a, b, c) VALUES (?2,?1,?3),(?4,?1,?5)"
        );
        assert_eq!(
            insert_sql("t (a)", 1, 0b1, 2),
            "INSERT OR FAIL INTO t (a) VALUES (?1),(?1)"
        );
    }

    #[test]
    fn shared_columns_compare_every_row() {
        let rows = [
            [Cell::Integer(1), Cell::Text("x"), Cell::Null],
            [Cell::Integer(2), Cell::Text("x"), Cell::Null],
            [Cell::Integer(3), Cell::Text("x"), Cell::Integer(0)],
        ];
        assert_eq!(shared_columns(&rows), 0b010);
        assert_eq!(shared_columns(&rows[..2]), 0b110);
        assert_eq!(shared_columns(&rows[..1]), 0b111);
    }

    #[test]
    fn block_stores_each_row() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (a INTEGER, b TEXT, c BLOB)")
            .unwrap();
        let mut inserts = BlockInserts::new("t (a, b, c)");
        let rows: Vec<[Cell<'_>; 3]> = (0..BULK_ROWS as i64)
            .map(|i| {
                [
                    Cell::Integer(i),
                    Cell::Text(if i == 3 { "y" } else { "x" }),
                    Cell::Blob(b"\x01"),
                ]
            })
            .collect();
        inserts.insert(&conn, &rows).unwrap();
        inserts.insert(&conn, &rows[..2]).unwrap();
        inserts.insert(&conn, &rows[..0]).unwrap();

        let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
        assert_eq!(count("SELECT count(*) FROM t"), BULK_ROWS as i64 + 2);
        assert_eq!(count("SELECT count(*) FROM t WHERE b = 'y'"), 1);
        assert_eq!(count("SELECT count(*) FROM t WHERE a = 3 AND b = 'y'"), 1);
        assert_eq!(
            count("SELECT count(*) FROM t WHERE c = x'01'"),
            BULK_ROWS as i64 + 2
        );
        assert_eq!(
            count("SELECT sum(a) FROM t"),
            (0..BULK_ROWS as i64).sum::<i64>() + 1
        );
    }
}
