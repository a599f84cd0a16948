"""`retrobatch reconcile`: impact.com's API and what it says about each part."""
