"""xds_cli"""
