//! Pier's edge proxy (to be built under the "Edge proxy" issue): a hyper server that maps a
//! request's Host to a deployment through the store's aliases and preview records, and serves
//! that deployment's files from their content-addressed blobs. It only ever reads the store.
