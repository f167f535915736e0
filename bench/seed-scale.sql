-- Seeds one tenant at the scale of issue 3, section 8: 1,000,000 clients, 5,000,000 purchases,
-- 2,000,000 interactions, with complaints, payments (some with incidents), category history
-- and market estimates. Run by bench/scale.sh as the cluster's superuser:
--   psql -v schema=tenant_... -v clients=1000000 -v purchases=5000000 -v interactions=2000000 -f bench/seed-scale.sql
-- Fast path: triggers and foreign-key checks off (session_replication_role = replica; every row
-- is consistent by construction), secondary indexes dropped before the load and rebuilt after,
-- rows inserted in id order. Everything is a function of the row number and random(): the data
-- looks French (accented names, real cities and postal codes) and skewed like a real business
-- (old clients buy more; one client, number 1, is very heavy).
\set ON_ERROR_STOP on
\timing on
SET search_path = :"schema", extensions, public;
SET session_replication_role = replica;
SET maintenance_work_mem = '1GB';
SET work_mem = '256MB';
SET synchronous_commit = off;
SELECT setseed(0.42);
-- Eight years of history up to today, so the default periods (the last 12 months) are full.
SELECT current_date - interval '8 years' AS start_at, current_date AS end_on \gset

BEGIN;
-- A UUIDv7 for an instant: 48 bits of milliseconds, version 7, then bits from md5 of a salt.
CREATE FUNCTION pg_temp.uuid7(at timestamptz, salt text) RETURNS uuid LANGUAGE sql IMMUTABLE
    RETURN (lpad(to_hex((extract(epoch FROM at) * 1000)::bigint), 12, '0') || '7'
            || substr(md5(salt), 1, 3) || '8' || substr(md5(salt), 4, 15))::uuid;
-- Client n: created evenly over the eight years, in id order.
CREATE FUNCTION pg_temp.client_created(n bigint, total bigint) RETURNS timestamptz LANGUAGE sql IMMUTABLE
    RETURN :'start_at'::timestamptz + interval '8 hours' + (n::float8 / total) * (:'end_on'::date - :'start_at'::date - 1) * interval '1 day';
CREATE FUNCTION pg_temp.client_id(n bigint, total bigint) RETURNS uuid LANGUAGE sql IMMUTABLE
    RETURN pg_temp.uuid7(pg_temp.client_created(n, total), 'client' || n);
-- Buyers are the clients whose n % 100 < 55 (actual and former clients); the k-th buyer's n.
CREATE FUNCTION pg_temp.buyer(k bigint) RETURNS bigint LANGUAGE sql IMMUTABLE
    RETURN (k / 55) * 100 + (k % 55) + 1;

CREATE TEMP TABLE first_names (i serial, name text);
INSERT INTO first_names (name) SELECT unnest(string_to_array(
    'Jean,Marie,Pierre,Michel,André,Philippe,Nathalie,Isabelle,Sylvie,Catherine,Françoise,Martine,'
    'Christine,Monique,Valérie,Sandrine,Stéphane,Frédéric,Éric,Hélène,Céline,Aurélie,Émilie,Élodie,'
    'Camille,Léa,Chloé,Manon,Inès,Léna,Zoé,Maëlle,Anaïs,Clémence,Mathilde,Agnès,Bénédicte,Gaëlle,'
    'Noémie,Océane,Solène,Thérèse,Josée,Renée,Geneviève,Béatrice,Cécile,Mélanie,Jérôme,Sébastien,'
    'Grégoire,Benoît,François,Jérémy,Cédric,Rémi,Loïc,Gaël,Joël,Noël,Raphaël,Mickaël,Théo,Lucas,'
    'Hugo,Louis,Gabriel,Arthur,Jules,Adam,Léo,Nathan,Enzo,Mathéo,Timothée,Maxime,Antoine,Nicolas,'
    'Julien,Thomas,Alexandre,Guillaume,Romain,Vincent,Laurent,Olivier,Christophe,Patrick,Thierry,'
    'Bruno,Pascal,Didier,Gérard,Daniel,Alain,Bernard,Claude,Jacques,René,Hervé,Yves,Gilles,Serge,'
    'Dominique,Patrice,Régis,Fabrice,Ludovic,Aurélien,Damien,Yannick,Anne,Claire,Julie,Laura,Sarah,'
    'Emma,Jade,Louise,Alice,Lina,Rose,Anna,Margaux,Pauline,Lucie,Juliette,Charlotte,Justine,Marion,'
    'Audrey,Caroline,Virginie,Karine,Laetitia,Stéphanie,Émeline,Séverine,Ségolène,Héloïse,Apolline,'
    'Honorine,Eugénie,Ophélie,Aimée,Désirée,Lætitia,Jérémie,Aurore,Amélie,Chantal,Josiane,Odile,'
    'Yvette,Ginette,Madeleine,Élise,Félix,Étienne,Séraphin,Anatole,Baptiste,Côme,Hippolyte,Honoré',
    ','));
CREATE TEMP TABLE last_names (i serial, name text);
INSERT INTO last_names (name) SELECT unnest(string_to_array(
    'Martin,Bernard,Thomas,Petit,Robert,Richard,Durand,Dubois,Moreau,Laurent,Simon,Michel,Lefèvre,'
    'Leroy,Roux,David,Bertrand,Morel,Fournier,Girard,Bonnet,Dupont,Lambert,Fontaine,Rousseau,Vincent,'
    'Muller,Lefebvre,Faure,André,Mercier,Blanc,Guérin,Boyer,Garnier,Chevalier,François,Legrand,'
    'Gauthier,Garcia,Perrin,Robin,Clément,Morin,Nicolas,Henry,Roussel,Mathieu,Gautier,Masson,'
    'Marchand,Duval,Denis,Dumont,Marie,Lemaire,Noël,Meyer,Dufour,Meunier,Brun,Blanchard,Giraud,'
    'Joly,Rivière,Lucas,Brunet,Gaillard,Barbier,Arnaud,Martinez,Gérard,Roche,Renard,Schmitt,Roy,'
    'Leroux,Colin,Vidal,Caron,Picard,Roger,Fabre,Aubert,Lemoine,Renaud,Dumas,Lacroix,Olivier,'
    'Philippe,Bourgeois,Pierre,Benoît,Rey,Leclerc,Payet,Rolland,Leclercq,Guillaume,Lecomte,Lopez,'
    'Jean,Dupuy,Guillot,Hubert,Berger,Carpentier,Sanchez,Dupuis,Moulin,Louis,Deschamps,Huet,Vasseur,'
    'Perez,Boucher,Fleury,Royer,Klein,Jacquet,Adam,Paris,Poirier,Marty,Aubry,Guyot,Carré,Charles,'
    'Renault,Charpentier,Ménard,Maillard,Baron,Bertin,Bailly,Hervé,Schneider,Fernandez,Le Gall,'
    'Collet,Léger,Bouvier,Julien,Prévost,Millet,Perrot,Daniel,Le Roux,Cousin,Germain,Breton,Besson,'
    'Langlois,Rémy,Le Goff,Pelletier,Lévêque,Perrier,Leblanc,Barré,Lebrun,Marchal,Weber,Mallet,'
    'Hamon,Boulanger,Jacob,Monnier,Michaud,Rodriguez,Guichard,Gillet,Étienne,Grondin,Poulain,'
    'Tessier,Chevallier,Collin,Chauvin,Da Silva,Bouchet,Gay,Lemaître,Bénard,Maréchal,Humbert,'
    'Reynaud,Antoine,Hoarau,Perret,Barthélemy,Cordier,Pichon,Lejeune,Gilbert,Lamy,Delaunay,Pasquier,'
    'Carlier,Laporte,Côté,Thévenin,Géraud,Pénélope,Jégou,Lesage,Désiré,Dussaussoy,Vérité,Bézier,'
    'Crépin,Frémont,Gérin,Hébert,Jérôme,Lefèbvre,Mérieux,Pétain,Quéré,Sénéchal,Thébault,Vallée,'
    'Bréchet,Châtelain,Dézert,Écuyer,Fénelon,Gâteau,Hémon,Kerjean,Le Bihan,Le Corre,Ménez,Nédélec',
    ','));
CREATE TEMP TABLE cities (i serial, city text, postal_code text, zone text);
INSERT INTO cities (city, postal_code, zone) VALUES
    ('Paris', '75001', 'paris'), ('Paris', '75004', 'paris'), ('Paris', '75008', 'paris'), ('Paris', '75011', 'paris'),
    ('Paris', '75015', 'paris'), ('Paris', '75017', 'paris'), ('Paris', '75018', 'paris'), ('Paris', '75020', 'paris'),
    ('Boulogne-Billancourt', '92100', 'paris'), ('Saint-Denis', '93200', 'paris'), ('Montreuil', '93100', 'paris'),
    ('Créteil', '94000', 'paris'), ('Versailles', '78000', 'paris'), ('Évry-Courcouronnes', '91000', 'paris'),
    ('Lyon', '69001', 'lyon'), ('Lyon', '69003', 'lyon'), ('Lyon', '69007', 'lyon'), ('Villeurbanne', '69100', 'lyon'),
    ('Saint-Étienne', '42000', 'lyon'), ('Grenoble', '38000', 'lyon'), ('Annecy', '74000', 'lyon'),
    ('Chambéry', '73000', 'lyon'), ('Valence', '26000', 'lyon'), ('Clermont-Ferrand', '63000', 'lyon'),
    ('Marseille', '13001', 'marseille'), ('Marseille', '13008', 'marseille'), ('Aix-en-Provence', '13100', 'marseille'),
    ('Toulon', '83000', 'marseille'), ('Nice', '06000', 'marseille'), ('Avignon', '84000', 'marseille'),
    ('Nîmes', '30000', 'marseille'), ('Montpellier', '34000', 'marseille'), ('Béziers', '34500', 'marseille'),
    ('Perpignan', '66000', 'marseille'), ('Lille', '59000', 'nord'), ('Roubaix', '59100', 'nord'),
    ('Tourcoing', '59200', 'nord'), ('Amiens', '80000', 'nord'), ('Arras', '62000', 'nord'), ('Reims', '51100', 'nord'),
    ('Metz', '57000', 'nord'), ('Nancy', '54000', 'nord'), ('Strasbourg', '67000', 'nord'), ('Besançon', '25000', 'nord'),
    ('Dijon', '21000', 'nord'), ('Orléans', '45000', 'ouest'), ('Tours', '37000', 'ouest'), ('Le Mans', '72000', 'ouest'),
    ('Angers', '49000', 'ouest'), ('Nantes', '44000', 'ouest'), ('Saint-Nazaire', '44600', 'ouest'),
    ('Rennes', '35000', 'ouest'), ('Brest', '29200', 'ouest'), ('Quimper', '29000', 'ouest'), ('Lorient', '56100', 'ouest'),
    ('Caen', '14000', 'ouest'), ('Rouen', '76000', 'ouest'), ('Le Havre', '76600', 'ouest'), ('Poitiers', '86000', 'ouest'),
    ('La Rochelle', '17000', 'ouest'), ('Angoulême', '16000', 'ouest'), ('Limoges', '87000', 'ouest'),
    ('Bordeaux', '33000', 'sud-ouest'), ('Mérignac', '33700', 'sud-ouest'), ('Pau', '64000', 'sud-ouest'),
    ('Bayonne', '64100', 'sud-ouest'), ('Toulouse', '31000', 'sud-ouest'), ('Montauban', '82000', 'sud-ouest'),
    ('Agen', '47000', 'sud-ouest'), ('Périgueux', '24000', 'sud-ouest'), ('Albi', '81000', 'sud-ouest'),
    ('Ajaccio', '20000', 'marseille');
SELECT (SELECT count(*) FROM cities) AS cities, (SELECT count(*) FROM first_names) AS firsts,
       (SELECT count(*) FROM last_names) AS lasts \gset

-- Load without the secondary indexes (constraint indexes stay), rebuilt at the end.
CREATE TEMP TABLE saved_indexes AS
SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition
FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace s ON s.oid = t.relnamespace
WHERE s.nspname = :'schema'
  AND t.relname IN ('clients', 'purchases', 'interactions', 'complaints', 'payments', 'category_changes')
  AND NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conindid = i.indexrelid);
DO $$ DECLARE r record; BEGIN
    FOR r IN SELECT name FROM saved_indexes LOOP EXECUTE 'DROP INDEX ' || r.name; END LOOP;
END $$;

-- Every client's number, id and creation instant, computed once.
CREATE TEMP TABLE client_ids AS
SELECT n, pg_temp.client_id(n, :clients) AS id, pg_temp.client_created(n, :clients) AS created
FROM generate_series(1::bigint, :clients) AS n;
CREATE UNIQUE INDEX ON client_ids (n);
ANALYZE client_ids;

-- Purchases first (their buyers' first and last purchase dates are read from them). Buyer
-- k = 550,000 * u^2: the oldest clients buy most, the first one several thousand times.
CREATE TEMP TABLE purchase_plan AS
SELECT p, n, c.id AS buyer_id, (c.created + random() * (:'end_on'::timestamptz - c.created))::date AS purchased_on,
       round((15 + 600 * random() ^ 3)::numeric, 2) AS amount
FROM (SELECT p, pg_temp.buyer(floor(:clients * 0.55 * random() ^ 2)::bigint) AS n
      FROM generate_series(1::bigint, :purchases) AS p) AS drawn
JOIN client_ids c USING (n);

INSERT INTO purchases (id, buyer_id, payer_id, purchased_on, channel, purchase_type, amount, margin,
                       market_zone, product_line, created_at, updated_at)
SELECT pg_temp.uuid7(purchased_on + time '10:00' + p * interval '1 ms', 'purchase' || p),
       plan.buyer_id, payer.id,
       purchased_on,
       (ARRAY['in_store','in_store','in_store','phone','web','web','email','field_visit','marketplace','other'])[1 + p % 10],
       (ARRAY['considered','impulse','repeat','repeat'])[1 + p % 4],
       amount,
       CASE WHEN p % 10 = 0 THEN NULL ELSE round(amount * (0.15 + 0.3 * random())::numeric, 2) END,
       CASE WHEN p % 10 < 7 THEN ci.zone END,
       CASE WHEN p % 10 < 7 THEN (ARRAY['mobilier','luminaires','textile','decoration'])[1 + p % 4] END,
       purchased_on + time '18:00', purchased_on + time '18:00'
FROM purchase_plan AS plan
JOIN cities ci ON ci.i = 1 + plan.n % :cities
LEFT JOIN client_ids payer ON plan.p % 37 = 0 AND payer.n = plan.n + 1
ORDER BY purchased_on, p;

CREATE TEMP TABLE buyer_dates AS
SELECT buyer_id, min(purchased_on) AS first_on, max(purchased_on) AS last_on FROM purchases GROUP BY buyer_id;
CREATE INDEX ON buyer_dates (buyer_id);

-- Clients: categories by n % 100 (0-44 actual, 45-54 former: the buyers), kinds 85 % individual.
INSERT INTO clients (id, kind, category, first_name, last_name, organisation_name, trade_name, email, phone,
                     city, postal_code, address_line1, tags, acquisition_channel, acquisition_cost,
                     first_purchase_on, last_purchase_on, consent_surveys, consent_marketing, follow_up_on,
                     category_since, created_at, updated_at, siren, sector, headcount)
SELECT c.id, c.kind,
       CASE WHEN b < 45 THEN 'actual_client' WHEN b < 55 THEN 'former_client' WHEN b < 80 THEN 'prospect'
            WHEN b < 87 THEN 'competitor_client' WHEN b < 93 THEN 'relative_non_consumer'
            WHEN b < 96 THEN 'absolute_non_consumer' ELSE 'prescriber' END,
       CASE WHEN c.kind = 'individual' THEN f.name END,
       CASE WHEN c.kind = 'individual' THEN l.name END,
       CASE WHEN c.kind = 'business'
            THEN (ARRAY['Boulangerie ','SARL ','Garage ','Atelier ','Cabinet ','Pharmacie ','Menuiserie ','Hôtel '])[1 + n % 8]
                 || l.name || CASE WHEN n % 3 = 0 THEN ' & Fils' ELSE '' END
            WHEN c.kind = 'public_body' THEN 'Mairie de ' || ci.city END,
       CASE WHEN c.kind = 'business' AND n % 5 = 0 THEN 'Chez ' || f.name END,
       CASE WHEN n % 10 < 8 THEN lower(extensions.unaccent(replace(f.name || '.' || l.name, ' ', '-'))) || n % 1000
            || (ARRAY['@gmail.com','@orange.fr','@free.fr','@laposte.net','@wanadoo.fr','@outlook.fr'])[1 + n % 6] END,
       CASE WHEN n % 10 < 7 THEN
            (ARRAY['06','07','01','02','03','04','05'])[1 + n % 7] || ' ' || lpad((n * 7919 % 100)::text, 2, '0') || ' '
            || lpad((n / 100 % 100)::text, 2, '0') || ' ' || lpad((n / 10000 % 100)::text, 2, '0') || ' '
            || lpad((n * 31 % 100)::text, 2, '0') END,
       ci.city, ci.postal_code,
       (1 + n % 180) || ' ' || (ARRAY['rue de la République','avenue Jean-Jaurès','place de l''Église',
            'rue Victor-Hugo','boulevard Gambetta','chemin des Écoliers','rue du Général-de-Gaulle'])[1 + n % 7],
       string_to_array((ARRAY['', '', '', 'fidèle', 'newsletter', 'vip', 'fidèle,vip', 'salon-2024', 'parrainage',
                              'newsletter,fidèle', 'b2b', 'à-relancer', 'export', 'newsletter,salon-2024'])[1 + n % 14], ','),
       (ARRAY['bouche-à-oreille','site web','salon','parrainage','publicité','réseaux sociaux', NULL])[1 + n % 7],
       CASE WHEN n % 4 = 0 THEN (n % 50) + 5 END,
       bd.first_on, bd.last_on,
       n % 3 = 0, n % 7 = 0,
       CASE WHEN b >= 87 AND b < 93 THEN (c.created + (n % 900) * interval '1 day')::date END,
       c.created, c.created, c.created + (n % 400) * interval '1 day',
       CASE WHEN c.kind = 'business' AND n % 2 = 0 THEN lpad((100000000 + n)::text, 9, '0') END,
       CASE WHEN c.kind = 'business' THEN (ARRAY['commerce','artisanat','services','hôtellerie','santé'])[1 + n % 5] END,
       CASE WHEN c.kind = 'business' THEN n % 40 + 1 END
FROM (
    SELECT n, n % 100 AS b, id, created,
           CASE WHEN n % 100 IN (3, 17, 29, 41, 58, 66, 72, 84, 91, 97, 11, 50, 63) THEN 'business'
                WHEN n % 50 = 7 THEN 'public_body' ELSE 'individual' END AS kind,
           1 + (n * 7 + n / 13) % :firsts AS fi, 1 + (n * 13 + n / 7) % :lasts AS li, 1 + n % :cities AS cii
    FROM client_ids
) AS c
JOIN first_names f ON f.i = c.fi
JOIN last_names l ON l.i = c.li
JOIN cities ci ON ci.i = c.cii
LEFT JOIN buyer_dates bd ON bd.buyer_id = c.id
ORDER BY n;

INSERT INTO category_changes (client_id, from_category, to_category, author, changed_at)
SELECT id, NULL, category, 'seed', created_at FROM clients ORDER BY id;

-- Interactions: skewed the same way over every client, at an instant after the client's creation.
INSERT INTO interactions (id, client_id, occurred_at, channel, direction, subject, outcome, author, created_at, updated_at)
SELECT pg_temp.uuid7(at, 'interaction' || q), client_id, at,
       (ARRAY['visit','phone','phone','email','email','letter','video','social','event','other'])[1 + q % 10],
       (ARRAY['inbound','outbound', NULL])[1 + q % 3],
       (ARRAY['Demande de devis','Relance','Rendez-vous en magasin','Réclamation téléphonique','Présentation catalogue',
              'Suivi de commande','Invitation au salon','Questions sur la livraison'])[1 + q % 8],
       (ARRAY['intéressé','à rappeler','pas intéressé', NULL])[1 + q % 4],
       (ARRAY['Sophie (accueil)','Marc (commercial)','Élodie (SAV)','Julien (direction)'])[1 + q % 4],
       at, at
FROM (
    SELECT q, c.id AS client_id, c.created + random() * (:'end_on'::timestamptz - c.created) AS at
    FROM (SELECT q, least(floor(1 + :clients * random() ^ 1.5)::bigint, :clients) AS n
          FROM generate_series(1::bigint, :interactions) AS q) AS drawn
    JOIN client_ids c USING (n)
) AS i
ORDER BY at;

-- Complaints on about one purchase in a hundred; payments for one purchase in ten, with late
-- payments, rejections and litigations for the difficult-clients report.
INSERT INTO complaints (id, client_id, purchase_id, opened_on, category, status, resolved_on, description,
                        handling_minutes, created_at, updated_at)
SELECT pg_temp.uuid7(opened_on + time '11:00', 'complaint' || id), buyer_id, id, opened_on,
       (ARRAY['product_quality','delivery','billing','service','after_sales','other'])[1 + h % 6],
       status, CASE WHEN status IN ('resolved', 'rejected') THEN opened_on + h % 30 END,
       'Réclamation client', 15 + h % 240, opened_on + time '11:00', opened_on + time '11:00'
FROM (SELECT id, buyer_id, purchased_on + (h % 20) AS opened_on, h,
             (ARRAY['resolved','resolved','resolved','rejected','open','in_progress','disputed'])[1 + h % 7] AS status
      FROM (SELECT id, buyer_id, purchased_on, (abs(hashtext(id::text)::bigint) % 2000000000)::int AS h FROM purchases) AS p
      WHERE h % 100 = 0) AS c
ORDER BY opened_on;

INSERT INTO payments (id, client_id, purchase_id, amount, due_on, paid_on, means, incident, incident_on,
                      created_at, updated_at)
SELECT pg_temp.uuid7(due_on + time '09:00', 'payment' || id), buyer_id, id, greatest(amount, 1), due_on,
       CASE incident WHEN 'none' THEN due_on - h % 5 WHEN 'late' THEN due_on + 5 + h % 60 END,
       (ARRAY['card','cash','cheque','transfer','direct_debit','other'])[1 + h % 6],
       incident, CASE WHEN incident IN ('rejected', 'litigation') THEN due_on + 3 + h % 20 END,
       due_on + time '09:00', due_on + time '09:00'
FROM (SELECT id, buyer_id, amount, purchased_on + 30 AS due_on, h,
             CASE WHEN h % 1000 < 80 THEN 'late' WHEN h % 1000 < 100 THEN 'rejected'
                  WHEN h % 1000 < 105 THEN 'litigation' ELSE 'none' END AS incident
      FROM (SELECT id, buyer_id, amount, purchased_on, (abs(hashtext(id::text || 'pay')::bigint) % 2000000000)::int AS h FROM purchases) AS p
      WHERE h % 10 = 0) AS p
ORDER BY due_on;

-- Market estimates: every zone and year, for all lines and for each line.
INSERT INTO market_estimates (id, market_zone, product_line, period_start, period_end, effective_demand,
                              potential_demand, effective_consumers, potential_consumers, source)
SELECT pg_temp.uuid7(make_date(y, 1, 1) + time '12:00', 'estimate' || z || y || coalesce(line, '')),
       z, line, make_date(y, 1, 1), make_date(y, 12, 31),
       20000000 * (1 + length(z) % 3), 30000000 * (1 + length(z) % 3), 400000, 600000, 'Étude CCI'
FROM unnest(ARRAY['paris','lyon','marseille','nord','ouest','sud-ouest']) AS z,
     generate_series(extract(year FROM :'start_at'::date)::int, extract(year FROM :'end_on'::date)::int) AS y,
     unnest(ARRAY[NULL, 'mobilier', 'luminaires', 'textile', 'decoration']) AS line;
COMMIT;

-- Rebuild the indexes dropped above.
DO $$ DECLARE r record; BEGIN
    FOR r IN SELECT definition FROM saved_indexes LOOP EXECUTE r.definition; END LOOP;
END $$;

-- The search lexicon is kept by triggers, which were off: fill it as tenant migration 0016 does.
SELECT search_lexicon_add(ARRAY(SELECT DISTINCT unnest(search_words) FROM clients));

SELECT (SELECT count(*) FROM clients) AS clients, (SELECT count(*) FROM purchases) AS purchases,
       (SELECT count(*) FROM interactions) AS interactions, (SELECT count(*) FROM complaints) AS complaints,
       (SELECT count(*) FROM payments) AS payments;
