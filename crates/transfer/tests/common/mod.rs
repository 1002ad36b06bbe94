//! Where the public data sets are: `THROUGHLINE_DATA_DIR`, or `../shared/data` beside the
//! repository as the project keeps them.

use std::path::PathBuf;

pub fn shared_data(rel: &str) -> PathBuf {
    let dir = std::env::var_os("THROUGHLINE_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data"))
        });
    let path = dir.join(rel);
    assert!(
        path.exists(),
        "the data set {} is missing: these tests need it and do not skip (set THROUGHLINE_DATA_DIR to the folder holding maven-crm-sales-opportunities/ and x-education-lead-scoring/)",
        path.display()
    );
    path
}
