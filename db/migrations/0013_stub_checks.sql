-- Before a stub is recalled its agent asks whether the cluster's record agrees: the record is
-- found by the stub's object locator, whichever host or path it names.
CREATE INDEX tier_object_locator_ix ON alto.tier_object (locator) WHERE locator IS NOT NULL;
