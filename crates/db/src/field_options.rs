//! The drop-down options of ticket, organization and user fields: the two option tables (`ticket_field_options`,
//! `profile_field_options`) have the same columns, so one writer and one reader serve both.

use crate::args;
use crate::conn::{Conn, Row};
use crate::error::DbError;
use crate::ticket_fields::OptionRow;

/// Which option table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OptionTable {
    Ticket,
    Profile,
}

impl OptionTable {
    fn name(self) -> &'static str {
        match self {
            OptionTable::Ticket => "ticket_field_options",
            OptionTable::Profile => "profile_field_options",
        }
    }
}

/// Writes a field's options in this order, keeping the id of each option whose value stays: clients keep option ids,
/// and a renamed option is the same choice.
pub(crate) async fn write(
    conn: &mut Conn,
    table: OptionTable,
    field_id: i64,
    options: &[(String, String)],
) -> Result<(), DbError> {
    let t = table.name();
    let existing: Vec<String> = conn
        .fetch_all(&format!("SELECT value FROM {t} WHERE field_id = ?"), &args![field_id])
        .await?
        .iter()
        .map(|r| r.text("value"))
        .collect::<Result<_, _>>()?;
    for gone in existing.iter().filter(|v| !options.iter().any(|(_, o)| o == *v)) {
        conn.execute(
            &format!("DELETE FROM {t} WHERE field_id = ? AND value = ?"),
            &args![field_id, gone.as_str()],
        )
        .await?;
    }
    for (position, (name, value)) in options.iter().enumerate() {
        let sql = if existing.contains(value) {
            format!("UPDATE {t} SET name = ?, position = ? WHERE field_id = ? AND value = ?")
        } else {
            format!("INSERT INTO {t} (name, position, field_id, value) VALUES (?, ?, ?, ?)")
        };
        conn.execute(&sql, &args![name.as_str(), position as i64, field_id, value.as_str()])
            .await?;
    }
    Ok(())
}

/// Puts option rows (any columns of an option table, in order) on their fields; `slot` gives a field's id and its
/// list of options.
pub(crate) fn attach<F>(
    rows: &[Row],
    fields: &mut [F],
    slot: impl Fn(&mut F) -> (i64, &mut Vec<OptionRow>),
) -> Result<(), DbError> {
    for o in rows {
        let field_id = o.i64("field_id")?;
        if let Some((_, options)) = fields.iter_mut().map(&slot).find(|(id, _)| *id == field_id) {
            options.push(OptionRow {
                id: o.i64("id")?,
                name: o.text("name")?,
                value: o.text("value")?,
                position: o.i64("position")?,
            });
        }
    }
    Ok(())
}
