-- Match features for the football example: each team's form before the match, from the
-- results of its EARLIER matches only (date < the match's date), never the match itself or
-- anything later. mlcron binds :since (the last successful run's instant) and :now (this
-- run's instant). See docs/football-example.md.
--
-- Incremental: a run (re)computes only the matches that changed in (:since, :now] (new
-- fixtures, arrived results) and every match still without a result (a fixture's form must
-- include every result known by now). Every write below is guarded by "IS NOT", so a run with
-- nothing new writes nothing and reports 0 rows changed. The first run (:since = 1970)
-- computes everything.
--
-- Two derived tables:
--   team_matches   one row per team and match (side 0 home, 1 away), holding the result
--                  from that team's view and its pre-match form; indexed on (team, date) so
--                  "the team's last 20 matches before D" is an index range, not a scan.
--   match_features one row per match: both teams' form side by side, and the labels.

CREATE TABLE IF NOT EXISTS team_matches (
  match_id INTEGER NOT NULL,
  side INTEGER NOT NULL,            -- 0 home, 1 away
  team TEXT NOT NULL,
  opponent TEXT NOT NULL,
  date TEXT NOT NULL,
  gf INTEGER,                       -- goals for, against and points; NULL until the result
  ga INTEGER,
  pts INTEGER,
  -- Pre-match form over the team's last 5/10/20 matches with a result (date < date):
  gf5 REAL, ga5 REAL, ppg5 REAL,
  gf10 REAL, ga10 REAL, ppg10 REAL,
  gf20 REAL, ga20 REAL, ppg20 REAL,
  gd20 REAL,                        -- average goal difference over the last 20
  n20 INTEGER,                      -- how many of the last 20 exist (0 for a new team)
  venue_ppg10 REAL,                 -- points per game over the last 10 at the same venue
  rest REAL,                        -- days since the previous match, capped at 30
  opp_gd20 REAL,                    -- the opponent's gd20 before this match
  rating REAL,                      -- average over the last 20 of (gd + opp_gd20)
  PRIMARY KEY (match_id, side)
);
CREATE INDEX IF NOT EXISTS team_matches_team_date ON team_matches (team, date);

CREATE TABLE IF NOT EXISTS match_features (
  match_id INTEGER PRIMARY KEY,
  date TEXT NOT NULL,
  division TEXT NOT NULL,
  home_team TEXT NOT NULL,
  away_team TEXT NOT NULL,
  h_gf5 REAL, h_ga5 REAL, h_ppg5 REAL, h_gf10 REAL, h_ga10 REAL, h_ppg10 REAL,
  h_gf20 REAL, h_ga20 REAL, h_ppg20 REAL, h_n20 INTEGER, h_home_ppg10 REAL, h_rest REAL,
  h_rating REAL,
  a_gf5 REAL, a_ga5 REAL, a_ppg5 REAL, a_gf10 REAL, a_ga10 REAL, a_ppg10 REAL,
  a_gf20 REAL, a_ga20 REAL, a_ppg20 REAL, a_n20 INTEGER, a_away_ppg10 REAL, a_rest REAL,
  a_rating REAL,
  rating_diff REAL,                 -- h_rating - a_rating
  result INTEGER,                   -- 0 home win, 1 draw, 2 away win; NULL until known
  home_goals INTEGER,
  away_goals INTEGER
);

-- 1. The team view of every match that changed in this window.
INSERT INTO team_matches (match_id, side, team, opponent, date, gf, ga, pts)
  SELECT match_id, side, team, opponent, date, gf, ga,
         CASE WHEN gf > ga THEN 3 WHEN gf = ga THEN 1 WHEN gf < ga THEN 0 END
  FROM (
    SELECT match_id, 0 AS side, home_team AS team, away_team AS opponent, date,
           home_score AS gf, away_score AS ga
    FROM matches WHERE _ingested_at > :since AND _ingested_at <= :now
    UNION ALL
    SELECT match_id, 1, away_team, home_team, date, away_score, home_score
    FROM matches WHERE _ingested_at > :since AND _ingested_at <= :now
  ) WHERE true
  ON CONFLICT (match_id, side) DO UPDATE SET
    team = excluded.team, opponent = excluded.opponent, date = excluded.date,
    gf = excluded.gf, ga = excluded.ga, pts = excluded.pts
  WHERE team IS NOT excluded.team OR opponent IS NOT excluded.opponent
     OR date IS NOT excluded.date OR gf IS NOT excluded.gf OR ga IS NOT excluded.ga;

-- The matches to (re)compute ("dirty" below): those that changed in (:since, :now] and
-- those still without a result. (A view cannot hold parameters, so steps 2-5 repeat it.)

-- 2. Pre-match form of both teams of every dirty match: the team's last 20 matches with a
--    result and a date before this one (k = 1 is the most recent).
UPDATE team_matches SET
  gf5 = s.gf5, ga5 = s.ga5, ppg5 = s.ppg5, gf10 = s.gf10, ga10 = s.ga10, ppg10 = s.ppg10,
  gf20 = s.gf20, ga20 = s.ga20, ppg20 = s.ppg20, gd20 = s.gd20, n20 = s.n20,
  venue_ppg10 = s.venue_ppg10, rest = s.rest
FROM (
  SELECT t.match_id, t.side,
    (SELECT avg(gf) FROM (SELECT gf FROM team_matches p WHERE p.team = t.team
       AND p.date < t.date AND p.gf IS NOT NULL ORDER BY p.date DESC LIMIT 5)) AS gf5,
    (SELECT avg(ga) FROM (SELECT ga FROM team_matches p WHERE p.team = t.team
       AND p.date < t.date AND p.gf IS NOT NULL ORDER BY p.date DESC LIMIT 5)) AS ga5,
    (SELECT avg(pts) FROM (SELECT pts FROM team_matches p WHERE p.team = t.team
       AND p.date < t.date AND p.gf IS NOT NULL ORDER BY p.date DESC LIMIT 5)) AS ppg5,
    (SELECT avg(gf) FROM (SELECT gf FROM team_matches p WHERE p.team = t.team
       AND p.date < t.date AND p.gf IS NOT NULL ORDER BY p.date DESC LIMIT 10)) AS gf10,
    (SELECT avg(ga) FROM (SELECT ga FROM team_matches p WHERE p.team = t.team
       AND p.date < t.date AND p.gf IS NOT NULL ORDER BY p.date DESC LIMIT 10)) AS ga10,
    (SELECT avg(pts) FROM (SELECT pts FROM team_matches p WHERE p.team = t.team
       AND p.date < t.date AND p.gf IS NOT NULL ORDER BY p.date DESC LIMIT 10)) AS ppg10,
    (SELECT avg(gf) FROM (SELECT gf FROM team_matches p WHERE p.team = t.team
       AND p.date < t.date AND p.gf IS NOT NULL ORDER BY p.date DESC LIMIT 20)) AS gf20,
    (SELECT avg(ga) FROM (SELECT ga FROM team_matches p WHERE p.team = t.team
       AND p.date < t.date AND p.gf IS NOT NULL ORDER BY p.date DESC LIMIT 20)) AS ga20,
    (SELECT avg(pts) FROM (SELECT pts FROM team_matches p WHERE p.team = t.team
       AND p.date < t.date AND p.gf IS NOT NULL ORDER BY p.date DESC LIMIT 20)) AS ppg20,
    (SELECT avg(gf - ga) FROM (SELECT gf, ga FROM team_matches p WHERE p.team = t.team
       AND p.date < t.date AND p.gf IS NOT NULL ORDER BY p.date DESC LIMIT 20)) AS gd20,
    (SELECT count(*) FROM (SELECT 1 FROM team_matches p WHERE p.team = t.team
       AND p.date < t.date AND p.gf IS NOT NULL ORDER BY p.date DESC LIMIT 20)) AS n20,
    (SELECT avg(pts) FROM (SELECT pts FROM team_matches p WHERE p.team = t.team
       AND p.side = t.side AND p.date < t.date AND p.gf IS NOT NULL
       ORDER BY p.date DESC LIMIT 10)) AS venue_ppg10,
    (SELECT min(30.0, julianday(t.date) - julianday(max(p.date))) FROM team_matches p
       WHERE p.team = t.team AND p.date < t.date) AS rest
  FROM team_matches t WHERE t.match_id IN (SELECT match_id FROM matches WHERE
       (_ingested_at > :since AND _ingested_at <= :now) OR home_score IS NULL
       OR away_score IS NULL)
) AS s
WHERE team_matches.match_id = s.match_id AND team_matches.side = s.side
  AND (team_matches.gf5, team_matches.ga5, team_matches.ppg5, team_matches.gf10,
       team_matches.ga10, team_matches.ppg10, team_matches.gf20, team_matches.ga20,
       team_matches.ppg20, team_matches.gd20, team_matches.n20, team_matches.venue_ppg10,
       team_matches.rest)
    IS NOT (s.gf5, s.ga5, s.ppg5, s.gf10, s.ga10, s.ppg10, s.gf20, s.ga20, s.ppg20, s.gd20,
            s.n20, s.venue_ppg10, s.rest);

-- 3. Each side's opponent strength at the time: the other side's gd20 of the same match.
UPDATE team_matches SET opp_gd20 = o.gd20
FROM team_matches AS o
WHERE o.match_id = team_matches.match_id AND o.side = 1 - team_matches.side
  AND team_matches.match_id IN (SELECT match_id FROM matches WHERE
       (_ingested_at > :since AND _ingested_at <= :now) OR home_score IS NULL
       OR away_score IS NULL)
  AND team_matches.opp_gd20 IS NOT o.gd20;

-- 4. Strength rating: over the last 20 matches with a result, the goal difference plus how
--    strong the opponent was then (its gd20). Beating strong teams counts for more; a
--    one-pass, incremental stand-in for a rating that needs sequential updates (Elo).
UPDATE team_matches SET rating = s.rating
FROM (
  SELECT t.match_id, t.side,
    (SELECT avg(gf - ga + coalesce(opp_gd20, 0)) FROM (SELECT gf, ga, opp_gd20
       FROM team_matches p WHERE p.team = t.team AND p.date < t.date AND p.gf IS NOT NULL
       ORDER BY p.date DESC LIMIT 20)) AS rating
  FROM team_matches t WHERE t.match_id IN (SELECT match_id FROM matches WHERE
       (_ingested_at > :since AND _ingested_at <= :now) OR home_score IS NULL
       OR away_score IS NULL)
) AS s
WHERE team_matches.match_id = s.match_id AND team_matches.side = s.side
  AND team_matches.rating IS NOT s.rating;

-- 5. One row per dirty match: both teams' form and the labels (NULL until the result).
INSERT INTO match_features
  SELECT m.match_id, m.date, m.division, m.home_team, m.away_team,
    h.gf5, h.ga5, h.ppg5, h.gf10, h.ga10, h.ppg10, h.gf20, h.ga20, h.ppg20, h.n20,
    h.venue_ppg10, h.rest, h.rating,
    a.gf5, a.ga5, a.ppg5, a.gf10, a.ga10, a.ppg10, a.gf20, a.ga20, a.ppg20, a.n20,
    a.venue_ppg10, a.rest, a.rating,
    h.rating - a.rating,
    CASE WHEN m.home_score > m.away_score THEN 0 WHEN m.home_score = m.away_score THEN 1
         WHEN m.home_score < m.away_score THEN 2 END,
    m.home_score, m.away_score
  FROM matches m
  JOIN team_matches h ON h.match_id = m.match_id AND h.side = 0
  JOIN team_matches a ON a.match_id = m.match_id AND a.side = 1
  WHERE m.match_id IN (SELECT match_id FROM matches WHERE
       (_ingested_at > :since AND _ingested_at <= :now) OR home_score IS NULL
       OR away_score IS NULL)
  ON CONFLICT (match_id) DO UPDATE SET
    date = excluded.date, division = excluded.division, home_team = excluded.home_team,
    away_team = excluded.away_team,
    h_gf5 = excluded.h_gf5, h_ga5 = excluded.h_ga5, h_ppg5 = excluded.h_ppg5,
    h_gf10 = excluded.h_gf10, h_ga10 = excluded.h_ga10, h_ppg10 = excluded.h_ppg10,
    h_gf20 = excluded.h_gf20, h_ga20 = excluded.h_ga20, h_ppg20 = excluded.h_ppg20,
    h_n20 = excluded.h_n20, h_home_ppg10 = excluded.h_home_ppg10, h_rest = excluded.h_rest,
    h_rating = excluded.h_rating,
    a_gf5 = excluded.a_gf5, a_ga5 = excluded.a_ga5, a_ppg5 = excluded.a_ppg5,
    a_gf10 = excluded.a_gf10, a_ga10 = excluded.a_ga10, a_ppg10 = excluded.a_ppg10,
    a_gf20 = excluded.a_gf20, a_ga20 = excluded.a_ga20, a_ppg20 = excluded.a_ppg20,
    a_n20 = excluded.a_n20, a_away_ppg10 = excluded.a_away_ppg10, a_rest = excluded.a_rest,
    a_rating = excluded.a_rating, rating_diff = excluded.rating_diff,
    result = excluded.result, home_goals = excluded.home_goals,
    away_goals = excluded.away_goals
  WHERE (match_features.date, match_features.division, match_features.home_team,
         match_features.away_team, h_gf5, h_ga5, h_ppg5, h_gf10, h_ga10, h_ppg10, h_gf20,
         h_ga20, h_ppg20, h_n20, h_home_ppg10, h_rest, h_rating, a_gf5, a_ga5, a_ppg5, a_gf10,
         a_ga10, a_ppg10, a_gf20, a_ga20, a_ppg20, a_n20, a_away_ppg10, a_rest, a_rating,
         rating_diff, result, home_goals, away_goals)
    IS NOT
        (excluded.date, excluded.division, excluded.home_team, excluded.away_team,
         excluded.h_gf5, excluded.h_ga5, excluded.h_ppg5, excluded.h_gf10, excluded.h_ga10,
         excluded.h_ppg10, excluded.h_gf20, excluded.h_ga20, excluded.h_ppg20, excluded.h_n20,
         excluded.h_home_ppg10, excluded.h_rest, excluded.h_rating, excluded.a_gf5,
         excluded.a_ga5, excluded.a_ppg5, excluded.a_gf10, excluded.a_ga10, excluded.a_ppg10,
         excluded.a_gf20, excluded.a_ga20, excluded.a_ppg20, excluded.a_n20,
         excluded.a_away_ppg10, excluded.a_rest, excluded.a_rating, excluded.rating_diff,
         excluded.result, excluded.home_goals, excluded.away_goals);
