//! Spin's host interfaces for guests: `fermyon:spin/key-value@2.0.0`,
//! `fermyon:spin/variables@2.0.0` and `wasi:keyvalue/{store,atomics,batch}@0.2.0-draft2`,
//! generated from `wit/` (taken from spin-sdk 5.2) and backed by [`crate::kv`].

use crate::kv::{KvCas, KvError, KvStore, SwapOutcome};
use crate::runtime::InstanceState;
use std::sync::Arc;
use wasmtime::component::Resource;

mod generated {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "certflow:host/spin-host",
        imports: { default: async | trappable },
        with: {
            "fermyon:spin/key-value.store": super::SpinStore,
            "wasi:keyvalue/store.bucket": super::Bucket,
            "wasi:keyvalue/atomics.cas": super::Cas,
        },
    });
}

pub use generated::SpinHost;
use generated::fermyon::spin::{key_value as spin_kv, variables as spin_vars};
use generated::wasi::keyvalue::{atomics, batch, store as wasi_kv};

/// An open `fermyon:spin/key-value` store: the label and the backend behind it.
pub struct SpinStore {
    label: String,
    db: Arc<dyn KvStore>,
}

/// An open `wasi:keyvalue` bucket.
pub struct Bucket {
    label: String,
    db: Arc<dyn KvStore>,
}

/// A compare-and-swap handle: the backend's handle, and what opens a fresh one after a
/// conflict.
pub struct Cas {
    label: String,
    key: String,
    db: Arc<dyn KvStore>,
    handle: Box<dyn KvCas>,
}

pub fn add_to_linker(
    linker: &mut wasmtime::component::Linker<InstanceState>,
) -> wasmtime::Result<()> {
    SpinHost::add_to_linker::<InstanceState, wasmtime::component::HasSelf<InstanceState>>(
        linker,
        |state| state,
    )
}

/// Opens a label for this component: only labels in its `key_value_stores` (access-denied
/// otherwise, which is what Spin answers), and only labels the host has a backend for.
enum OpenError {
    AccessDenied,
    NoSuchStore,
}

impl InstanceState {
    fn open_label(&self, label: &str) -> Result<Arc<dyn KvStore>, OpenError> {
        if !self.component.key_value_stores.iter().any(|l| l == label) {
            return Err(OpenError::AccessDenied);
        }
        self.key_value
            .get(label)
            .cloned()
            .ok_or(OpenError::NoSuchStore)
    }
}

fn spin_err(e: KvError) -> spin_kv::Error {
    spin_kv::Error::Other(e.0)
}

fn wasi_err(e: KvError) -> wasi_kv::Error {
    wasi_kv::Error::Other(e.0)
}

impl spin_kv::Host for InstanceState {}

impl spin_kv::HostStore for InstanceState {
    async fn open(
        &mut self,
        label: String,
    ) -> wasmtime::Result<Result<Resource<SpinStore>, spin_kv::Error>> {
        let db = match self.open_label(&label) {
            Ok(db) => db,
            Err(OpenError::AccessDenied) => return Ok(Err(spin_kv::Error::AccessDenied)),
            Err(OpenError::NoSuchStore) => return Ok(Err(spin_kv::Error::NoSuchStore)),
        };
        Ok(Ok(self.table.push(SpinStore { label, db })?))
    }

    async fn get(
        &mut self,
        store: Resource<SpinStore>,
        key: String,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, spin_kv::Error>> {
        let s = self.table.get(&store)?;
        Ok(s.db.get(&s.label, &key).await.map_err(spin_err))
    }

    async fn set(
        &mut self,
        store: Resource<SpinStore>,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), spin_kv::Error>> {
        let s = self.table.get(&store)?;
        let (db, label) = (s.db.clone(), s.label.clone());
        Ok(db.set(&label, &key, value).await.map_err(spin_err))
    }

    async fn delete(
        &mut self,
        store: Resource<SpinStore>,
        key: String,
    ) -> wasmtime::Result<Result<(), spin_kv::Error>> {
        let s = self.table.get(&store)?;
        let (db, label) = (s.db.clone(), s.label.clone());
        Ok(db.delete(&label, &key).await.map_err(spin_err))
    }

    async fn exists(
        &mut self,
        store: Resource<SpinStore>,
        key: String,
    ) -> wasmtime::Result<Result<bool, spin_kv::Error>> {
        let s = self.table.get(&store)?;
        Ok(s.db.exists(&s.label, &key).await.map_err(spin_err))
    }

    async fn get_keys(
        &mut self,
        store: Resource<SpinStore>,
    ) -> wasmtime::Result<Result<Vec<String>, spin_kv::Error>> {
        let s = self.table.get(&store)?;
        Ok(s.db.keys(&s.label).await.map_err(spin_err))
    }

    async fn drop(&mut self, store: Resource<SpinStore>) -> wasmtime::Result<()> {
        self.table.delete(store)?;
        Ok(())
    }
}

impl spin_vars::Host for InstanceState {
    async fn get(&mut self, name: String) -> wasmtime::Result<Result<String, spin_vars::Error>> {
        Ok(self.component.variables.get(&name).map_err(|e| match e {
            crate::variables::GetError::InvalidName(m) => spin_vars::Error::InvalidName(m),
            crate::variables::GetError::Undefined(m) => spin_vars::Error::Undefined(m),
            crate::variables::GetError::Provider(m) => spin_vars::Error::Provider(m),
        }))
    }
}

impl wasi_kv::Host for InstanceState {
    async fn open(
        &mut self,
        identifier: String,
    ) -> wasmtime::Result<Result<Resource<Bucket>, wasi_kv::Error>> {
        let db = match self.open_label(&identifier) {
            Ok(db) => db,
            Err(OpenError::AccessDenied) => return Ok(Err(wasi_kv::Error::AccessDenied)),
            Err(OpenError::NoSuchStore) => return Ok(Err(wasi_kv::Error::NoSuchStore)),
        };
        Ok(Ok(self.table.push(Bucket {
            label: identifier,
            db,
        })?))
    }
}

impl wasi_kv::HostBucket for InstanceState {
    async fn get(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, wasi_kv::Error>> {
        let b = self.table.get(&bucket)?;
        Ok(b.db.get(&b.label, &key).await.map_err(wasi_err))
    }

    async fn set(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), wasi_kv::Error>> {
        let b = self.table.get(&bucket)?;
        let (db, label) = (b.db.clone(), b.label.clone());
        Ok(db.set(&label, &key, value).await.map_err(wasi_err))
    }

    async fn delete(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
    ) -> wasmtime::Result<Result<(), wasi_kv::Error>> {
        let b = self.table.get(&bucket)?;
        let (db, label) = (b.db.clone(), b.label.clone());
        Ok(db.delete(&label, &key).await.map_err(wasi_err))
    }

    async fn exists(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
    ) -> wasmtime::Result<Result<bool, wasi_kv::Error>> {
        let b = self.table.get(&bucket)?;
        Ok(b.db.exists(&b.label, &key).await.map_err(wasi_err))
    }

    /// Spin returns every key in one page (no cursor); so does this host.
    async fn list_keys(
        &mut self,
        bucket: Resource<Bucket>,
        _cursor: Option<String>,
    ) -> wasmtime::Result<Result<wasi_kv::KeyResponse, wasi_kv::Error>> {
        let b = self.table.get(&bucket)?;
        Ok(b.db
            .keys(&b.label)
            .await
            .map(|keys| wasi_kv::KeyResponse { keys, cursor: None })
            .map_err(wasi_err))
    }

    async fn drop(&mut self, bucket: Resource<Bucket>) -> wasmtime::Result<()> {
        self.table.delete(bucket)?;
        Ok(())
    }
}

impl atomics::Host for InstanceState {
    async fn increment(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
        delta: i64,
    ) -> wasmtime::Result<Result<i64, wasi_kv::Error>> {
        let b = self.table.get(&bucket)?;
        let (db, label) = (b.db.clone(), b.label.clone());
        Ok(db.increment(&label, &key, delta).await.map_err(wasi_err))
    }

    async fn swap(
        &mut self,
        cas: Resource<Cas>,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), atomics::CasError>> {
        let mut cas = self.table.delete(cas)?;
        match cas.handle.swap(value).await {
            Ok(SwapOutcome::Stored) => Ok(Ok(())),
            Ok(SwapOutcome::Conflict) => {
                // As Spin does: a new handle on the key, already read (`current()`), so the
                // guest retries against the latest value.
                let mut handle = match cas.db.new_cas(&cas.label, &cas.key).await {
                    Ok(h) => h,
                    Err(e) => return Ok(Err(atomics::CasError::StoreError(wasi_err(e)))),
                };
                if let Err(e) = handle.current().await {
                    return Ok(Err(atomics::CasError::StoreError(wasi_err(e))));
                }
                let retry = self.table.push(Cas {
                    label: cas.label,
                    key: cas.key,
                    db: cas.db,
                    handle,
                })?;
                Ok(Err(atomics::CasError::CasFailed(retry)))
            }
            Err(e) => Ok(Err(atomics::CasError::StoreError(wasi_err(e)))),
        }
    }
}

impl atomics::HostCas for InstanceState {
    async fn new(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
    ) -> wasmtime::Result<Result<Resource<Cas>, wasi_kv::Error>> {
        let b = self.table.get(&bucket)?;
        let (db, label) = (b.db.clone(), b.label.clone());
        let handle = match db.new_cas(&label, &key).await {
            Ok(h) => h,
            Err(e) => return Ok(Err(wasi_err(e))),
        };
        Ok(Ok(self.table.push(Cas {
            label,
            key,
            db,
            handle,
        })?))
    }

    async fn current(
        &mut self,
        cas: Resource<Cas>,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, wasi_kv::Error>> {
        let c = self.table.get_mut(&cas)?;
        Ok(c.handle.current().await.map_err(wasi_err))
    }

    async fn drop(&mut self, cas: Resource<Cas>) -> wasmtime::Result<()> {
        self.table.delete(cas)?;
        Ok(())
    }
}

impl batch::Host for InstanceState {
    async fn get_many(
        &mut self,
        bucket: Resource<Bucket>,
        keys: Vec<String>,
    ) -> wasmtime::Result<Result<Vec<(String, Option<Vec<u8>>)>, wasi_kv::Error>> {
        let b = self.table.get(&bucket)?;
        Ok(b.db.get_many(&b.label, &keys).await.map_err(wasi_err))
    }

    async fn set_many(
        &mut self,
        bucket: Resource<Bucket>,
        key_values: Vec<(String, Vec<u8>)>,
    ) -> wasmtime::Result<Result<(), wasi_kv::Error>> {
        let b = self.table.get(&bucket)?;
        let (db, label) = (b.db.clone(), b.label.clone());
        Ok(db.set_many(&label, key_values).await.map_err(wasi_err))
    }

    async fn delete_many(
        &mut self,
        bucket: Resource<Bucket>,
        keys: Vec<String>,
    ) -> wasmtime::Result<Result<(), wasi_kv::Error>> {
        let b = self.table.get(&bucket)?;
        let (db, label) = (b.db.clone(), b.label.clone());
        Ok(db.delete_many(&label, keys).await.map_err(wasi_err))
    }
}
