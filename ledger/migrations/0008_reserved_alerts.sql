-- 0008: reserved on the alerts branch so 0009_alerts.sql loads (the ledger loads
-- gapless migrations only). At merge, drop this file: another branch's
-- 0008 takes its place.
SELECT 1;
