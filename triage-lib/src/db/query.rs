//! `triage db query`: ad-hoc SQL over a database opened read-only.

use rusqlite::types::ValueRef;

use super::{Database, DbError};

/// One cell of a query result.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// An integer.
    Integer(i64),
    /// A floating-point number.
    Real(f64),
    /// Text, or a blob shown as `x'..'` hex.
    Text(String),
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Null => Ok(()),
            Value::Integer(n) => write!(f, "{n}"),
            Value::Real(x) => write!(f, "{x}"),
            Value::Text(text) => f.write_str(text),
        }
    }
}

/// The columns and rows a query returned.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueryResult {
    /// Column names, in order.
    pub columns: Vec<String>,
    /// Rows, each with one value per column.
    pub rows: Vec<Vec<Value>>,
}

impl Database {
    /// Runs one SQL statement that only reads and returns everything it selects. A
    /// statement that would write is refused ([`DbError::NotReadOnly`]) before it runs; on
    /// a database opened with [`Database::open_read_only`] SQLite refuses one anyway.
    pub fn query(&self, sql: &str) -> Result<QueryResult, DbError> {
        let mut statement = self.conn.prepare(sql).map_err(|e| self.error(e))?;
        if !statement.readonly() {
            return Err(DbError::NotReadOnly(format!(
                "{:?} would change the database; only statements that read (SELECT, ...) run here",
                sql.trim()
            )));
        }
        let columns: Vec<String> = statement
            .column_names()
            .into_iter()
            .map(str::to_string)
            .collect();
        let width = columns.len();
        let mut rows = statement.query([]).map_err(|e| self.error(e))?;
        let mut result = QueryResult {
            columns,
            rows: Vec::new(),
        };
        while let Some(row) = rows.next().map_err(|e| self.error(e))? {
            let mut values = Vec::with_capacity(width);
            for index in 0..width {
                let value = row.get_ref(index).map_err(|e| self.error(e))?;
                values.push(match value {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(n) => Value::Integer(n),
                    ValueRef::Real(x) => Value::Real(x),
                    ValueRef::Text(text) => Value::Text(String::from_utf8_lossy(text).into_owned()),
                    ValueRef::Blob(bytes) => Value::Text(format!(
                        "x'{}'",
                        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
                    )),
                });
            }
            result.rows.push(values);
        }
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_refuses_to_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("crashes.db");
        drop(Database::open(&path).unwrap());
        let db = Database::open_read_only(&path).unwrap();
        let result = db
            .query("SELECT 1 AS one, NULL AS absent, 'x' AS text, 2.5 AS real")
            .unwrap();
        assert_eq!(result.columns, ["one", "absent", "text", "real"]);
        assert_eq!(
            result.rows,
            [vec![
                Value::Integer(1),
                Value::Null,
                Value::Text("x".into()),
                Value::Real(2.5)
            ]]
        );
        for sql in [
            "DELETE FROM dumps",
            "DROP TABLE dumps",
            "PRAGMA user_version = 9",
        ] {
            let error = db.query(sql).unwrap_err();
            assert!(matches!(error, DbError::NotReadOnly(_)), "{sql}: {error}");
        }
        let count = db.query("SELECT count(*) FROM dumps").unwrap();
        assert_eq!(count.rows, [vec![Value::Integer(0)]]);
    }
}
