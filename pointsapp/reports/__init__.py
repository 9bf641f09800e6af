"""Reports: charts, the monthly ceremony pack, dashboards and exports."""
