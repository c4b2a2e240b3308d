"""Evaluation library: the paper's metrics and everything a checkpoint sweep or a test run does with them.

metrics: PSNR, SSIM / MS-SSIM as TensorFlow defines them, CIEDE2000 (ciede2000.py), LPIPS through a network the
  caller passes in (the scripts build it with losses.build_lpips_alexnet), 8-bit conversion (quantize_8bit,
  QUANTIZE_MODES: none, png8, jpeg75, round), score_batch.
submission_jpeg: the challenge submission's JPEG writer (write_jpeg / encode_jpeg, quality 75) and decoder, shared
  by tools.submit and the jpeg75 scoring mode.
split: a split loaded once (load_eval_data -> EvalData) and a generator scored on it (evaluate_model).
tables: per-image and summary CSVs (summarise, write_csv, checkpoint_table), merging a sweep's CSVs.
selection: a run's checkpoints, --mod/--rem, the best checkpoint, metric-vs-step plot, published-vs-measured
  report.
Like every library here it imports no other project library (only common/); settings arrive as arguments.
"""
from .ciede2000 import ciede2000_lab, delta_e2000
from .metrics import (
                      METRIC_NAMES,
                      MSSSIM_WEIGHTS,
                      QUANTIZE_ALIASES,
                      QUANTIZE_CHOICES,
                      QUANTIZE_MODES,
                      LPIPSMetric,
                      canonical_quantize,
                      ms_ssim_min_size,
                      ms_ssim_tf,
                      psnr,
                      quantize_8bit,
                      score_batch,
                      scored_output,
                      ssim_tf,
)
from .scoring_split import EvalData, evaluate_model, load_eval_data
from .selection import (
                      LOWER_IS_BETTER,
                      SELECTION_METRIC,
                      SWEEP_SPLIT,
                      best_report,
                      by_step,
                      checkpoint_step,
                      csv_path_for,
                      find_recipe_config,
                      format_table,
                      mixed_modes_note,
                      plot_metrics,
                      published_comparison,
                      read_run_config,
                      run_checkpoints,
                      scored_as,
                      select_by_remainder,
                      sweep_summary,
                      top_k,
)
from .submission_jpeg import (
                      SUBMISSION_JPEG_QUALITY,
                      BadSubmissionImageError,
                      decode_jpeg,
                      encode_jpeg,
                      jpeg_round_trip,
                      write_jpeg,
)
from .tables import (
                      FAILED_LOG,
                      NON_METRIC_COLUMNS,
                      SUMMARY_NAME,
                      already_scored,
                      checkpoint_table,
                      find_csvs,
                      merge,
                      metric_names,
                      read_summary,
                      record_failure,
                      summarise,
                      with_summary,
                      write_csv,
                      write_merged,
)
