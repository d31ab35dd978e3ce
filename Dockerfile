# One image for both roles: `python app.py` (API) and `celery -A make_celery worker` (worker).
FROM python:3.12-slim
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
ENV HOST=0.0.0.0 PORT=5000
CMD ["python", "app.py"]
