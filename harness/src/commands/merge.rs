//! `merge`: the shards of one run in, one result document out ([`crate::results::merge`]).

use crate::cli::MergeArgs;
use crate::compare::document::read_files;
use crate::error::{HarnessError, exit};
use crate::humanize::counted;
use crate::results::merge::{MergeError, merge as merge_shards, shard_document};

pub(super) fn merge(args: &MergeArgs) -> Result<i32, HarnessError> {
    let documents = read_files(&args.inputs)?;
    let refused = |problem: MergeError| HarnessError::Merge(Box::new(problem));
    let mut shards = Vec::with_capacity(documents.len());
    for (path, value) in documents {
        shards.push(shard_document(&path, value).map_err(refused)?);
    }
    let merged = merge_shards(shards).map_err(refused)?;
    let text = serde_json::to_string_pretty(&merged).map_err(|source| HarnessError::Encode {
        what: "the merged document",
        source,
    })?;
    let Some(block) = &merged.merged else {
        unreachable!("merge always writes the merged block")
    };
    let behind = block.shards.iter().filter(|s| s.behind.is_some()).count();
    match &args.output {
        Some(path) => {
            crate::fsutil::write_atomically(path, &(text + "\n")).map_err(|source| {
                HarnessError::Write {
                    path: path.clone(),
                    source,
                }
            })?;
        }
        None => println!("{text}"),
    }
    eprintln!(
        "merged {} of run {}: {} operations, {} errors, {:.1}/s{}",
        counted(block.count, "shard"),
        block.run_id,
        merged.summary.operations,
        merged.summary.errors,
        merged.summary.throughput_per_s,
        if behind == 0 {
            String::new()
        } else {
            format!(", {} behind its schedule", counted(behind, "shard"))
        }
    );
    for shard in block.shards.iter().filter(|s| s.behind.is_some()) {
        eprintln!(
            "  shard {}/{} ({}): {}",
            shard.index,
            block.count,
            shard.source,
            shard.behind.as_deref().unwrap_or_default()
        );
    }
    Ok(exit::OK)
}
