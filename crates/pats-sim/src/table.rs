//! A keyed table that remembers which rows changed: what the simulators keep their tokens,
//! secrets, users and sessions in, so that the emulator can write only what a request
//! changed (its journal, [`crate::emulator`]) instead of the whole state.
//!
//! Every way to change a row goes through [`Table::insert`], [`Table::get_mut`],
//! [`Table::remove`] or [`Table::retain`], and each records the row's key; there is no
//! `&mut` access to the rows that does not. [`Table::take_changes`] hands the changed rows
//! (their current value, or `None` for a removed one) to the journal and forgets them;
//! [`Table::apply_changes`] replays them.
//!
//! A table serializes as a map from key to row (the shape of the `HashMap`s it replaced),
//! or with [`as_rows`] as a list of rows in key order, each row carrying its key (the shape
//! of the `Vec`s it replaced), so state documents keep their format.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Rows of type `V` by key `K`, in key order, with the keys changed since the last
/// [`take_changes`](Self::take_changes).
pub(crate) struct Table<K, V> {
    rows: BTreeMap<K, V>,
    changed: BTreeSet<K>,
    /// Whether changes are recorded: only once a journal asks for them
    /// ([`track`](Self::track)), so a simulator without one keeps no record.
    tracking: bool,
}

impl<K: Ord + Clone, V> Default for Table<K, V> {
    fn default() -> Self {
        Self {
            rows: BTreeMap::new(),
            changed: BTreeSet::new(),
            tracking: false,
        }
    }
}

/// A row that knows its own key (for tables written as a list, [`as_rows`]).
pub(crate) trait Row {
    /// The key type.
    type Key;
    /// This row's key, or why it has none.
    fn key(&self) -> Result<Self::Key, String>;
}

#[allow(dead_code)] // the whole table API, whichever simulators are compiled in
impl<K: Ord + Clone, V> Table<K, V> {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn len(&self) -> usize {
        self.rows.len()
    }

    pub(crate) fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.rows.get(key)
    }

    pub(crate) fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: std::borrow::Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.rows.contains_key(key)
    }

    /// The row, to change: it is recorded as changed whether or not it is.
    pub(crate) fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Ord + ?Sized,
    {
        if !self.tracking {
            return self.rows.get_mut(key);
        }
        let key = self.rows.get_key_value(key)?.0.clone();
        self.changed.insert(key.clone());
        self.rows.get_mut::<K>(&key)
    }

    pub(crate) fn insert(&mut self, key: K, row: V) -> Option<V> {
        if self.tracking {
            self.changed.insert(key.clone());
        }
        self.rows.insert(key, row)
    }

    pub(crate) fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let (key, row) = self.rows.remove_entry(key)?;
        if self.tracking {
            self.changed.insert(key);
        }
        Some(row)
    }

    /// Keeps the rows `keep` says yes to; the others are removed (and recorded).
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&K, &V) -> bool) {
        let (changed, tracking) = (&mut self.changed, self.tracking);
        self.rows.retain(|k, v| {
            let kept = keep(k, v);
            if !kept && tracking {
                changed.insert(k.clone());
            }
            kept
        });
    }

    /// Removes every row (each recorded).
    pub(crate) fn clear(&mut self) {
        self.retain(|_, _| false);
    }

    pub(crate) fn iter(&self) -> impl DoubleEndedIterator<Item = (&K, &V)> {
        self.rows.iter()
    }

    pub(crate) fn values(&self) -> impl DoubleEndedIterator<Item = &V> {
        self.rows.values()
    }

    pub(crate) fn keys(&self) -> impl DoubleEndedIterator<Item = &K> {
        self.rows.keys()
    }

    /// The rows whose keys are in `range`, in key order.
    pub(crate) fn range<R: std::ops::RangeBounds<K>>(
        &self,
        range: R,
    ) -> impl DoubleEndedIterator<Item = (&K, &V)> {
        self.rows.range(range)
    }

    /// Forgets what changed (after the whole table was written).
    pub(crate) fn forget_changes(&mut self) {
        self.changed.clear();
    }

    /// Records changes from now on.
    pub(crate) fn track(&mut self) {
        self.tracking = true;
    }
}

impl<K: Ord + Clone + Serialize, V: Serialize> Table<K, V> {
    /// The changed rows as a JSON object, key → row (`null` for a removed row), and forgets
    /// them; `None` when nothing changed. O(changed rows).
    pub(crate) fn take_changes(&mut self) -> serde_json::Result<Option<Value>> {
        if self.changed.is_empty() {
            return Ok(None);
        }
        let changed = std::mem::take(&mut self.changed);
        let rows: BTreeMap<&K, Option<&V>> =
            changed.iter().map(|k| (k, self.rows.get(k))).collect();
        serde_json::to_value(rows).map(Some)
    }
}

impl<K: Ord + Clone + DeserializeOwned, V: DeserializeOwned> Table<K, V> {
    /// Replays rows that [`take_changes`](Self::take_changes) wrote: each is set to the
    /// value given, or removed for `null`. Nothing is recorded as changed.
    pub(crate) fn apply_changes(&mut self, changes: &Value) -> serde_json::Result<()> {
        let rows: BTreeMap<K, Option<V>> = serde_json::from_value(changes.clone())?;
        for (key, row) in rows {
            match row {
                Some(row) => {
                    self.rows.insert(key, row);
                }
                None => {
                    self.rows.remove(&key);
                }
            }
        }
        Ok(())
    }
}

impl<K: Ord + Clone, V> FromIterator<(K, V)> for Table<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Self {
            rows: iter.into_iter().collect(),
            changed: BTreeSet::new(),
            tracking: false,
        }
    }
}

impl<K: Ord + Serialize, V: Serialize> Serialize for Table<K, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.rows.serialize(s)
    }
}

impl<'de, K: Ord + Clone + Deserialize<'de>, V: Deserialize<'de>> Deserialize<'de> for Table<K, V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self {
            rows: BTreeMap::deserialize(d)?,
            changed: BTreeSet::new(),
            tracking: false,
        })
    }
}

/// `#[serde(with = "as_rows")]`: the table as a list of rows in key order (each row
/// carries its key, [`Row`]).
pub(crate) mod as_rows {
    use super::{Row, Table};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(crate) fn serialize<K, V, S>(table: &Table<K, V>, s: S) -> Result<S::Ok, S::Error>
    where
        K: Ord,
        V: Serialize,
        S: Serializer,
    {
        s.collect_seq(table.rows.values())
    }

    pub(crate) fn deserialize<'de, K, V, D>(d: D) -> Result<Table<K, V>, D::Error>
    where
        K: Ord + Clone,
        V: Row<Key = K> + Deserialize<'de>,
        D: Deserializer<'de>,
    {
        Vec::<V>::deserialize(d)?
            .into_iter()
            .map(|row| row.key().map(|k| (k, row)))
            .collect::<Result<_, _>>()
            .map_err(serde::de::Error::custom)
    }
}

/// Numbers the rows of the list-shaped table `table` of a simulator's state document that
/// have no `seq` by their place in the list: files written before rows had one list them
/// in creation order.
#[allow(dead_code)] // Dfns and SailPoint only
pub(crate) fn number_rows(state: &mut Value, table: &str) {
    if let Some(Value::Array(rows)) = state.get_mut(table) {
        for (i, row) in rows.iter_mut().enumerate() {
            if let Value::Object(row) = row {
                row.entry("seq").or_insert(serde_json::json!(i));
            }
        }
    }
}

/// What a simulator's state changed since it was last asked
/// (the `take_changes` that `journaled!` writes).
#[allow(dead_code)] // only the emulator asks
pub(crate) enum Changes {
    /// Nothing.
    Nothing,
    /// Some rows (and maybe the small fields): `{"scalars": {…}, "rows": {table: {key: row}}}`.
    Rows(Value),
    /// The whole state was replaced (a state document was loaded): only a full write
    /// records it.
    Everything,
}

/// Gives a simulator's `State` `take_changes` and `apply_changes`, for the emulator's
/// journal: `scalars` are the small fields, written whole whenever they change; `tables`
/// are its [`Table`]s, of which only changed rows are written. The state needs two fields
/// of its own, skipped by serde: `journaled: serde_json::Value` (the scalars last written)
/// and `replaced: bool` (set when the whole state was replaced).
#[allow(unused_macros)] // without any simulator (`--no-default-features`)
macro_rules! journaled {
    ($state:ty { scalars: [$($s:ident),* $(,)?], tables: [$($t:ident),* $(,)?] $(,)? }) => {
        #[allow(dead_code)] // only the emulator journals
        impl $state {
            /// What changed since the last call; forgets it.
            pub(crate) fn take_changes(
                &mut self,
            ) -> serde_json::Result<$crate::table::Changes> {
                // Tables record changes once a journal asks for them (and again after
                // the whole state was replaced by one that did not).
                $( self.$t.track(); )*
                if std::mem::take(&mut self.replaced) {
                    $( self.$t.forget_changes(); )*
                    self.journaled = serde_json::Value::Null;
                    return Ok($crate::table::Changes::Everything);
                }
                let mut rows = serde_json::Map::new();
                $(
                    if let Some(changed) = self.$t.take_changes()? {
                        rows.insert(stringify!($t).to_owned(), changed);
                    }
                )*
                let mut scalars = serde_json::Map::new();
                $( scalars.insert(stringify!($s).to_owned(), serde_json::to_value(&self.$s)?); )*
                let scalars = serde_json::Value::Object(scalars);
                if rows.is_empty() && scalars == self.journaled {
                    return Ok($crate::table::Changes::Nothing);
                }
                self.journaled = scalars.clone();
                Ok($crate::table::Changes::Rows(serde_json::json!({
                    "scalars": scalars,
                    "rows": rows,
                })))
            }

            /// Replays what [`take_changes`](Self::take_changes) returned.
            pub(crate) fn apply_changes(
                &mut self,
                change: &serde_json::Value,
            ) -> Result<(), String> {
                if let Some(scalars) = change.get("scalars") {
                    $(
                        if let Some(v) = scalars.get(stringify!($s)) {
                            self.$s = serde_json::from_value(v.clone())
                                .map_err(|e| format!("{}: {e}", stringify!($s)))?;
                        }
                    )*
                }
                match change.get("rows") {
                    None => Ok(()),
                    Some(serde_json::Value::Object(tables)) => {
                        for (name, rows) in tables {
                            match name.as_str() {
                                $(
                                    stringify!($t) => self.$t
                                        .apply_changes(rows)
                                        .map_err(|e| format!("{name}: {e}"))?,
                                )*
                                other => return Err(format!("no table {other}")),
                            }
                        }
                        Ok(())
                    }
                    Some(_) => Err("rows is not an object".to_owned()),
                }
            }
        }
    };
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn every_change_is_recorded_once_and_replays_to_the_same_rows() {
        let mut live: Table<String, u32> = Table::new();
        live.insert("untracked".into(), 0);
        live.remove("untracked");
        live.insert("untracked".into(), 0);
        live.retain(|_, _| false);
        assert!(live.get("untracked").is_none());
        assert_eq!(
            live.take_changes().unwrap(),
            None,
            "nothing is recorded untracked"
        );
        live.track();
        live.insert("a".into(), 1);
        live.insert("b".into(), 2);
        live.insert("c".into(), 3);
        let mut replica: Table<String, u32> = Table::new();
        replica
            .apply_changes(&live.take_changes().unwrap().unwrap())
            .unwrap();
        assert_eq!(live.take_changes().unwrap(), None, "taken once");

        *live.get_mut("a").unwrap() = 10;
        live.remove("b");
        live.retain(|k, _| k != "c");
        live.insert("d".into(), 4);
        assert!(live.get_mut("nope").is_none());
        assert_eq!(live.remove("nope"), None);
        let changes = live.take_changes().unwrap().unwrap();
        assert_eq!(changes, json!({"a": 10, "b": null, "c": null, "d": 4}));
        replica.apply_changes(&changes).unwrap();
        assert_eq!(
            replica.iter().collect::<Vec<_>>(),
            live.iter().collect::<Vec<_>>()
        );
        assert_eq!(live.take_changes().unwrap(), None);

        // Clearing records every row; forgetting drops what was recorded.
        live.clear();
        assert_eq!(live.len(), 0);
        assert_eq!(
            live.take_changes().unwrap(),
            Some(json!({"a": null, "d": null}))
        );
        live.insert("e".into(), 5);
        live.forget_changes();
        assert_eq!(live.take_changes().unwrap(), None);
    }

    #[test]
    fn integer_keys_travel_as_strings_and_come_back() {
        let mut live: Table<u64, String> = Table::new();
        live.track();
        live.insert(7, "seven".into());
        let changes = live.take_changes().unwrap().unwrap();
        assert_eq!(changes, json!({"7": "seven"}));
        let mut replica: Table<u64, String> = Table::new();
        replica.apply_changes(&changes).unwrap();
        assert_eq!(replica.get(&7).map(String::as_str), Some("seven"));
        assert!(replica.apply_changes(&json!({"x": "y"})).is_err());
    }

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct Item {
        id: String,
        n: u8,
    }

    impl Row for Item {
        type Key = String;
        fn key(&self) -> Result<String, String> {
            Ok(self.id.clone())
        }
    }

    #[derive(Serialize, Deserialize)]
    struct Holder {
        #[serde(with = "as_rows")]
        items: Table<String, Item>,
        map: Table<String, u8>,
    }

    #[test]
    fn a_table_keeps_the_shape_of_the_list_or_map_it_replaced() {
        let doc = json!({
            "items": [{"id": "b", "n": 2}, {"id": "a", "n": 1}],
            "map": {"x": 1}
        });
        let holder: Holder = serde_json::from_value(doc).unwrap();
        assert_eq!(
            holder.items.get("a"),
            Some(&Item {
                id: "a".into(),
                n: 1
            })
        );
        let mut items = holder.items;
        items.track();
        assert_eq!(
            items.take_changes().unwrap(),
            None,
            "loading is not a change"
        );
        let holder = Holder {
            items,
            map: holder.map,
        };
        assert_eq!(
            serde_json::to_value(&holder).unwrap(),
            json!({"items": [{"id": "a", "n": 1}, {"id": "b", "n": 2}], "map": {"x": 1}})
        );
    }
}
