//! A small query layer over rusqlite, shaped like the sqlx calls the store was first written
//! with: `query(sql).bind(v)…` collects owned parameters (so a query can be built on the
//! caller's task and moved to the thread that runs it), and rows come back as owned
//! [`Row`]s read by column name. Statements go through the connection's prepared-statement
//! cache.

use rusqlite::Connection;
use rusqlite::types::{FromSql, ToSql, ToSqlOutput, Value, ValueRef};
use std::sync::Arc;

/// A statement with its parameters, ready to run on a connection.
#[derive(Debug)]
pub(crate) struct Query {
    sql: String,
    params: Vec<Value>,
    /// The first parameter that could not be converted; reported when the query runs.
    error: Option<String>,
}

/// Starts a query of `sql` (parameters `?` or `?N`).
pub(crate) fn query(sql: impl Into<String>) -> Query {
    Query { sql: sql.into(), params: Vec::new(), error: None }
}

/// Converts a value to an owned SQLite value.
fn owned<T: ToSql>(v: T) -> Result<Value, String> {
    match v.to_sql().map_err(|e| e.to_string())? {
        ToSqlOutput::Borrowed(r) => Ok(Value::from(r)),
        ToSqlOutput::Owned(v) => Ok(v),
        #[allow(unreachable_patterns)]
        _ => Err("unsupported parameter".to_string()),
    }
}

/// What an `execute` changed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Done(usize);

impl Done {
    /// Returns how many rows the statement inserted, updated or deleted.
    pub(crate) fn rows_affected(&self) -> u64 {
        self.0 as u64
    }
}

impl Query {
    /// Adds the next parameter.
    pub(crate) fn bind<T: ToSql>(mut self, v: T) -> Self {
        self.push(v);
        self
    }

    fn push<T: ToSql>(&mut self, v: T) {
        match owned(v) {
            Ok(v) => self.params.push(v),
            Err(e) => {
                self.error.get_or_insert(e);
                self.params.push(Value::Null);
            }
        }
    }

    fn prepare<'c>(&self, conn: &'c Connection) -> rusqlite::Result<rusqlite::CachedStatement<'c>> {
        if let Some(e) = &self.error {
            return Err(rusqlite::Error::ToSqlConversionFailure(e.clone().into()));
        }
        let mut stmt = conn.prepare_cached(&self.sql)?;
        let expected = stmt.parameter_count();
        if expected != self.params.len() {
            return Err(rusqlite::Error::InvalidParameterCount(self.params.len(), expected));
        }
        for (i, v) in self.params.iter().enumerate() {
            stmt.raw_bind_parameter(i + 1, v)?;
        }
        Ok(stmt)
    }

    /// Runs a statement that returns no rows.
    pub(crate) fn execute(&self, conn: &Connection) -> rusqlite::Result<Done> {
        let mut stmt = self.prepare(conn)?;
        let n = stmt.raw_execute()?;
        Ok(Done(n))
    }

    /// Runs a query and returns every row.
    pub(crate) fn fetch_all(&self, conn: &Connection) -> rusqlite::Result<Vec<Row>> {
        let mut stmt = self.prepare(conn)?;
        let names: Arc<[String]> = stmt.column_names().into_iter().map(str::to_string).collect();
        let width = names.len();
        let mut rows = stmt.raw_query();
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let mut values = Vec::with_capacity(width);
            for i in 0..width {
                values.push(Value::from(row.get_ref(i)?));
            }
            out.push(Row { names: names.clone(), values });
        }
        Ok(out)
    }

    /// Runs a query and turns each row into a `T` as it is read, from values borrowed from the
    /// statement: a text column is copied once, into what `f` makes of it, instead of into an
    /// owned [`Row`] first (a listing page of whole messages is about 250 KB of text).
    pub(crate) fn fetch_map<T, E>(
        &self,
        conn: &Connection,
        db_err: impl Fn(rusqlite::Error) -> E,
        mut f: impl FnMut(&RowRef<'_, '_>) -> Result<T, E>,
    ) -> Result<Vec<T>, E> {
        let mut stmt = self.prepare(conn).map_err(&db_err)?;
        let names: Vec<String> = stmt.column_names().into_iter().map(str::to_string).collect();
        let mut rows = stmt.raw_query();
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(&db_err)? {
            out.push(f(&RowRef { names: &names, row })?);
        }
        Ok(out)
    }

    /// Runs a query and returns its first row, if any.
    pub(crate) fn fetch_optional(&self, conn: &Connection) -> rusqlite::Result<Option<Row>> {
        let mut stmt = self.prepare(conn)?;
        let names: Arc<[String]> = stmt.column_names().into_iter().map(str::to_string).collect();
        let mut rows = stmt.raw_query();
        match rows.next()? {
            Some(row) => {
                let mut values = Vec::with_capacity(names.len());
                for i in 0..names.len() {
                    values.push(Value::from(row.get_ref(i)?));
                }
                Ok(Some(Row { names, values }))
            }
            None => Ok(None),
        }
    }

    /// Runs a query that must return a row.
    pub(crate) fn fetch_one(&self, conn: &Connection) -> rusqlite::Result<Row> {
        self.fetch_optional(conn)?.ok_or(rusqlite::Error::QueryReturnedNoRows)
    }
}

/// A query assembled piece by piece (optional filters, `IN` lists).
#[derive(Debug)]
pub(crate) struct QueryBuilder {
    query: Query,
}

impl QueryBuilder {
    /// Starts with `sql`.
    pub(crate) fn new(sql: impl Into<String>) -> Self {
        Self { query: query(sql) }
    }

    /// Appends SQL text.
    pub(crate) fn push(&mut self, sql: impl AsRef<str>) -> &mut Self {
        self.query.sql.push_str(sql.as_ref());
        self
    }

    /// Appends a parameter placeholder and its value.
    pub(crate) fn push_bind<T: ToSql>(&mut self, v: T) -> &mut Self {
        self.query.sql.push('?');
        self.query.push(v);
        self
    }

    /// Returns a writer of `sep`-separated parameters (an `IN` list).
    pub(crate) fn separated(&mut self, sep: &'static str) -> Separated<'_> {
        Separated { builder: self, sep, first: true }
    }

    /// Returns the query built so far (the builder is left empty).
    pub(crate) fn build(&mut self) -> Query {
        std::mem::replace(&mut self.query, query(""))
    }
}

/// Parameters separated by a fixed string.
pub(crate) struct Separated<'b> {
    builder: &'b mut QueryBuilder,
    sep: &'static str,
    first: bool,
}

impl Separated<'_> {
    /// Appends a parameter, after the separator unless it is the first.
    pub(crate) fn push_bind<T: ToSql>(&mut self, v: T) -> &mut Self {
        if !self.first {
            self.builder.query.sql.push_str(self.sep);
        }
        self.first = false;
        self.builder.push_bind(v);
        self
    }
}

/// One result row, owned, read by column name.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    names: Arc<[String]>,
    values: Vec<Value>,
}

impl Row {
    /// Reads the column `name` as a `T`.
    pub(crate) fn try_get<T: FromSql>(&self, name: &str) -> Result<T, String> {
        T::column_result(ValueRef::from(self.value(name)?)).map_err(|e| e.to_string())
    }

    /// Reads the text column `name` without copying it (`None` for NULL). The text was checked
    /// to be UTF-8 when the row was read.
    pub(crate) fn text(&self, name: &str) -> Result<Option<&str>, String> {
        match self.value(name)? {
            Value::Null => Ok(None),
            Value::Text(s) => Ok(Some(s)),
            other => Err(format!("expected text, found {:?}", other.data_type())),
        }
    }

    fn value(&self, name: &str) -> Result<&Value, String> {
        let i = self.names.iter().position(|n| n == name).ok_or_else(|| format!("no column `{name}`"))?;
        Ok(&self.values[i])
    }
}

/// A row of a running query, its values borrowed from the statement, read by column name.
pub(crate) struct RowRef<'s, 'r> {
    names: &'s [String],
    row: &'s rusqlite::Row<'r>,
}

impl RowRef<'_, '_> {
    /// Reads the column `name` as a `T`.
    pub(crate) fn try_get<T: FromSql>(&self, name: &str) -> Result<T, String> {
        T::column_result(self.value(name)?).map_err(|e| e.to_string())
    }

    /// Reads the text column `name` without copying it (`None` for NULL); invalid UTF-8 is
    /// replaced, as an owned [`Row`] reads it.
    pub(crate) fn text(&self, name: &str) -> Result<Option<std::borrow::Cow<'_, str>>, String> {
        match self.value(name)? {
            ValueRef::Null => Ok(None),
            ValueRef::Text(bytes) => Ok(Some(String::from_utf8_lossy(bytes))),
            other => Err(format!("expected text, found {:?}", other.data_type())),
        }
    }

    fn value(&self, name: &str) -> Result<ValueRef<'_>, String> {
        let i = self.names.iter().position(|n| n == name).ok_or_else(|| format!("no column `{name}`"))?;
        self.row.get_ref(i).map_err(|e| e.to_string())
    }
}
