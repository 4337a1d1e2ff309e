//! Test helper for `tests/crash.rs`: opens the store at `argv[1]` and commits the crash
//! workload's blocks in a loop until it is killed, printing `s <height>` after each synced
//! safety write, `b <height>` before each commit starts and `c <height>` after it returns.
//! Not a tool for operators.

mod workload;

use std::io::Write as _;
use std::process::ExitCode;

use maat_storage::{Store, StoreOptions};

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args
        .next()
        .ok_or("usage: maat-storage-crashloop DIR [MAX_BLOCKS]")?;
    let max: u64 = args.next().map_or(Ok(1_000_000), |s| s.parse())?;
    let mut options = StoreOptions::new(workload::GENESIS);
    // Small memtables: flushes and compactions run while the process is being killed.
    options.write_buffer_size = Some(64 << 10);
    let store = Store::open(&dir, &options)?;
    let (mut height, mut log_size) = match store.meta()? {
        Some(m) => (m.height + 1, m.log_size),
        None => (0, 0),
    };
    let mut out = std::io::stdout().lock();
    for _ in 0..max {
        store.put_safety(&height.to_be_bytes())?;
        writeln!(out, "s {height}")?;
        out.flush()?;
        store.put_pending(&workload::pending_id(height), b"pending block")?;
        let batch = workload::block(height, log_size);
        writeln!(out, "b {height}")?;
        out.flush()?;
        let meta = store.commit(&batch)?;
        writeln!(out, "c {height}")?;
        out.flush()?;
        log_size = meta.log_size;
        height += 1;
    }
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("maat-storage-crashloop: {e}");
            ExitCode::FAILURE
        }
    }
}
