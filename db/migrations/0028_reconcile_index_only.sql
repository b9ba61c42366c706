-- The sanitizer compares each listing part of 10,000 keys with the records in the part's key
-- range. The records' index held only the key: each of the 10,000 was then fetched from the heap,
-- where records lie in the order they were tiered, not by key (measured on 1 M records: 30-45 ms
-- of a part's 45-63 ms comparison, about 10,000 pages a part). With the columns the comparison
-- reads beside the key, the range is read from the index alone on pages the vacuum has marked
-- all-visible (4-7 ms); the hash, needed only for an object of the wrong length, is fetched then.
-- The index is no larger: the key dominates its entries.
DROP INDEX alto.tier_object_target_locator_ix;
CREATE INDEX tier_object_target_locator_ix ON alto.tier_object (target_id, locator COLLATE "C") INCLUDE (tenant_id, id, state, size_bytes)
    WHERE locator IS NOT NULL;
