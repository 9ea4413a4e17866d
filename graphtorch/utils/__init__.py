"""`gt.utils`: data loading (`gt.utils.data`, imported by graphtorch) and hook handles."""
